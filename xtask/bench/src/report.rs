//! The result table: printed on stdout and written as JSON with the machine it ran on.

use std::path::Path;

use serde_json::{Value, json};

use crate::BenchError;

/// One measured value and the target it is held against, if any.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub metric: String,
    pub value: f64,
    pub unit: &'static str,
    pub target: Option<Target>,
}

/// `value <= limit` (or `>=` for an at-least target).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub limit: f64,
    pub at_least: bool,
}

impl Target {
    pub fn at_most(limit: f64) -> Option<Target> {
        Some(Target {
            limit,
            at_least: false,
        })
    }

    pub fn at_least(limit: f64) -> Option<Target> {
        Some(Target {
            limit,
            at_least: true,
        })
    }

    pub fn met(&self, value: f64) -> bool {
        if self.at_least {
            value >= self.limit
        } else {
            value <= self.limit
        }
    }
}

impl Row {
    pub fn new(
        scenario: &str,
        metric: &str,
        value: f64,
        unit: &'static str,
        target: Option<Target>,
    ) -> Row {
        Row {
            scenario: scenario.to_owned(),
            metric: metric.to_owned(),
            value,
            unit,
            target,
        }
    }

    fn met(&self) -> Option<bool> {
        self.target.map(|target| target.met(self.value))
    }

    fn value_text(&self) -> String {
        format_value(self.value, self.unit)
    }

    fn target_text(&self) -> String {
        match self.target {
            None => "-".to_owned(),
            Some(target) => format!(
                "{} {}",
                if target.at_least { ">=" } else { "<=" },
                format_value(target.limit, self.unit)
            ),
        }
    }
}

fn format_value(value: f64, unit: &str) -> String {
    let number = if value.fract() == 0.0 && value.abs() < 1e15 {
        // Whole numbers with thousands separators read better in a table.
        group_thousands(value as i64)
    } else if value.abs() >= 100.0 {
        group_thousands(value.round() as i64)
    } else if value.abs() >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    };
    if unit.is_empty() {
        number
    } else {
        format!("{number} {unit}")
    }
}

fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0 {
        grouped.insert(0, '-');
    }
    grouped
}

/// CPU model, cores and kernel, from /proc.
pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|release| release.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    json!({"cpu": cpu, "cores": cores, "kernel": kernel})
}

/// The Markdown table of `rows` (and the failures), as printed.
pub fn table(rows: &[Row], failures: &[(String, String)]) -> String {
    let mut lines = vec![
        "| scenario | metric | value | target | met? |".to_owned(),
        "|---|---|---|---|---|".to_owned(),
    ];
    for row in rows {
        let met = match row.met() {
            None => "-",
            Some(true) => "yes",
            Some(false) => "**NO**",
        };
        lines.push(format!(
            "| {} | {} | {} | {} | {met} |",
            row.scenario,
            row.metric,
            row.value_text(),
            row.target_text()
        ));
    }
    for (scenario, error) in failures {
        let first_line = error.lines().next().unwrap_or_default();
        lines.push(format!(
            "| {scenario} | FAILED | {first_line} | - | **NO** |"
        ));
    }
    lines.join("\n")
}

/// The targets missed, one line each.
pub fn misses(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter(|row| row.met() == Some(false))
        .map(|row| {
            format!(
                "{} / {}: {} against {}",
                row.scenario,
                row.metric,
                row.value_text(),
                row.target_text()
            )
        })
        .collect()
}

pub fn write_json(
    path: &Path,
    header: Value,
    rows: &[Row],
    failures: &[(String, String)],
) -> Result<(), BenchError> {
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "scenario": row.scenario,
                "metric": row.metric,
                "value": row.value,
                "unit": row.unit,
                "target": row.target.map(|target| json!({
                    "limit": target.limit,
                    "at_least": target.at_least,
                })),
                "met": row.met(),
            })
        })
        .collect();
    let failures: Vec<Value> = failures
        .iter()
        .map(|(scenario, error)| json!({"scenario": scenario, "error": error}))
        .collect();
    let mut document = header;
    document["rows"] = Value::Array(rows);
    document["failures"] = Value::Array(failures);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| BenchError::io("create the JSON's directory", e))?;
    }
    let text = serde_json::to_string_pretty(&document)
        .map_err(|e| BenchError::Failed(format!("cannot serialise the results: {e}")))?;
    std::fs::write(path, text + "\n").map_err(|e| BenchError::io("write the JSON", e))
}
