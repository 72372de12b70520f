//! `cargo xtask faults`: runs the fault tests (`tests/faults_*.rs`) at full size
//! and prints what they measured as one table.
//!
//! The tests do the measuring: each appends one JSON line per fault to the file
//! `WODLE_AWS_FAULTS_REPORT` names (see `tests/support/ledger.rs`). This reads
//! the lines back, prints them, and writes them as Markdown and JSON lines under
//! `target/faults/`.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use crate::{cargo, moto_server, moto_venv, nextest_installed, run, workspace_root};

/// The report file's columns, as the tests write them.
struct Row {
    /// The test file that measured it (`faults_aws`, ...): rows are grouped by it.
    suite: String,
    fault: String,
    trials: u64,
    put: u64,
    delivered: u64,
    lost: u64,
    duplicated: u64,
    out_of_order: u64,
    outcome: String,
}

pub fn faults(args: &[OsString]) -> ExitCode {
    let root = workspace_root();
    let full = !args.iter().any(|arg| arg == "--ci");
    let extra: Vec<&OsString> = args.iter().filter(|arg| *arg != "--ci").collect();

    let tests = match fault_test_names(&root.join("tests")) {
        Ok(tests) if !tests.is_empty() => tests,
        Ok(_) => {
            eprintln!("xtask: no tests/faults_*.rs found");
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("xtask: cannot list tests/: {error}");
            return ExitCode::FAILURE;
        }
    };
    let Some(moto_server) = moto_server(&root) else {
        return ExitCode::FAILURE;
    };

    let out_dir = root.join("target").join("faults");
    let report = out_dir.join("faults.jsonl");
    if let Err(error) = std::fs::create_dir_all(&out_dir) {
        eprintln!("xtask: cannot create {}: {error}", out_dir.display());
        return ExitCode::FAILURE;
    }
    // A stale row from an earlier run must never pass for this run's.
    if let Err(error) = std::fs::remove_file(&report)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        eprintln!("xtask: cannot remove {}: {error}", report.display());
        return ExitCode::FAILURE;
    }

    let with_nextest = nextest_installed();
    let mut suite = cargo();
    if with_nextest {
        suite.args(["nextest", "run", "--no-fail-fast"]);
    } else {
        suite.args(["test", "--no-fail-fast"]);
    }
    suite.args(["-p", "wodle-aws"]);
    for test in &tests {
        suite.args(["--test", test]);
    }
    suite
        .args(extra)
        .env(moto_venv::MOTO_SERVER_ENV, &moto_server)
        .env("WODLE_AWS_FAULTS_REPORT", &report)
        .env("WODLE_AWS_FAULTS_SCALE", if full { "full" } else { "ci" });
    let tests_status = run(&mut suite);

    let rows = match std::fs::read_to_string(&report) {
        Ok(text) => text
            .lines()
            .map(parse_row)
            .collect::<Result<Vec<Row>, String>>(),
        Err(error) => Err(format!("cannot read {}: {error}", report.display())),
    };
    let mut rows = match rows {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("xtask: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Tests finish in any order; within a file, rows keep the order they were measured in.
    rows.sort_by(|a, b| a.suite.cmp(&b.suite));
    let table = table(&rows, full);
    print!("{table}");
    let markdown = out_dir.join("faults.md");
    if let Err(error) = std::fs::write(&markdown, &table) {
        eprintln!("xtask: cannot write {}: {error}", markdown.display());
    }
    eprintln!(
        "xtask: rows in {} and {}",
        report.display(),
        markdown.display()
    );

    let failing: Vec<&Row> = rows
        .iter()
        .filter(|row| row.lost > 0 || row.out_of_order > 0)
        .collect();
    if !failing.is_empty() {
        for row in failing {
            eprintln!(
                "xtask: {}: {} lost, {} out of order",
                row.fault, row.lost, row.out_of_order
            );
        }
        return ExitCode::FAILURE;
    }
    tests_status
}

/// The names of `tests/faults_*.rs`, sorted, without the extension.
fn fault_test_names(tests_dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(tests_dir)? {
        let name = entry?.file_name();
        if let Some(test) = name
            .to_str()
            .and_then(|name| name.strip_suffix(".rs"))
            .filter(|stem| stem.starts_with("faults_"))
        {
            names.push(test.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn table(rows: &[Row], full: bool) -> String {
    let header = [
        "fault",
        "trials",
        "events put",
        "delivered",
        "lost",
        "duplicated",
        "out of order",
        "outcome",
    ];
    let mut text = format!(
        "\nFault tests ({} size)\n\n| {} |\n|{}\n",
        if full { "full" } else { "CI" },
        header.join(" | "),
        header
            .iter()
            .enumerate()
            .map(|(column, _)| if (1..7).contains(&column) {
                "---:|"
            } else {
                "---|"
            })
            .collect::<String>()
    );
    for row in rows {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.fault.replace('|', "\\|"),
            row.trials,
            row.put,
            row.delivered,
            row.lost,
            row.duplicated,
            row.out_of_order,
            row.outcome.replace('|', "\\|"),
        ));
    }
    text
}

/// One line of the report: a flat JSON object of strings and whole numbers,
/// as `tests/support/ledger.rs` writes it.
fn parse_row(line: &str) -> Result<Row, String> {
    let fields = parse_flat_object(line).map_err(|error| format!("{error} in {line:?}"))?;
    let text = |name: &str| -> Result<String, String> {
        match fields.iter().find(|(key, _)| key == name) {
            Some((_, Value::Text(text))) => Ok(text.clone()),
            _ => Err(format!("no text field {name:?} in {line:?}")),
        }
    };
    let number = |name: &str| -> Result<u64, String> {
        match fields.iter().find(|(key, _)| key == name) {
            Some((_, Value::Number(number))) => Ok(*number),
            _ => Err(format!("no number field {name:?} in {line:?}")),
        }
    };
    Ok(Row {
        // Optional: rows of older reports had none.
        suite: text("suite").unwrap_or_default(),
        fault: text("fault")?,
        trials: number("trials")?,
        put: number("put")?,
        delivered: number("delivered")?,
        lost: number("lost")?,
        duplicated: number("duplicated")?,
        out_of_order: number("out_of_order")?,
        outcome: text("outcome")?,
    })
}

#[derive(Debug, PartialEq)]
enum Value {
    Text(String),
    Number(u64),
}

// xtask stays plain std (it builds before anything else), hence this small reader
// instead of serde_json: the lines come from our own writer.
fn parse_flat_object(line: &str) -> Result<Vec<(String, Value)>, String> {
    let mut chars = line.trim().chars().peekable();
    let mut fields = Vec::new();
    if chars.next() != Some('{') {
        return Err("expected '{'".into());
    }
    loop {
        match chars.next() {
            Some('}') if fields.is_empty() => return Ok(fields),
            Some('"') => {}
            other => return Err(format!("expected a key, found {other:?}")),
        }
        let key = parse_string_rest(&mut chars)?;
        if chars.next() != Some(':') {
            return Err(format!("expected ':' after {key:?}"));
        }
        let value = match chars.peek() {
            Some('"') => {
                chars.next();
                Value::Text(parse_string_rest(&mut chars)?)
            }
            Some(c) if c.is_ascii_digit() => {
                let mut digits = String::new();
                while let Some(c) = chars.peek().filter(|c| c.is_ascii_digit()) {
                    digits.push(*c);
                    chars.next();
                }
                Value::Number(digits.parse().map_err(|e| format!("{key}: {e}"))?)
            }
            other => return Err(format!("unexpected {other:?} as the value of {key:?}")),
        };
        fields.push((key, value));
        match chars.next() {
            Some(',') => {}
            Some('}') => return Ok(fields),
            other => return Err(format!("expected ',' or '}}', found {other:?}")),
        }
    }
}

/// The rest of a JSON string whose opening quote was read.
fn parse_string_rest(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<String, String> {
    let mut text = String::new();
    loop {
        match chars.next() {
            Some('"') => return Ok(text),
            Some('\\') => match chars.next() {
                Some('"') => text.push('"'),
                Some('\\') => text.push('\\'),
                Some('/') => text.push('/'),
                Some('n') => text.push('\n'),
                Some('t') => text.push('\t'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code =
                        u32::from_str_radix(&hex, 16).map_err(|e| format!("\\u{hex}: {e}"))?;
                    text.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                other => return Err(format!("unsupported escape {other:?}")),
            },
            Some(c) => text.push(c),
            None => return Err("unterminated string".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_line_reads_back() {
        let row = parse_row(
            r#"{"fault":"kill \"mid\"\u000a","trials":20,"put":125000,"delivered":125000,"lost":0,"duplicated":7,"out_of_order":0,"outcome":"exit 0"}"#,
        )
        .expect("a valid row");
        assert_eq!(row.fault, "kill \"mid\"\n");
        assert_eq!((row.trials, row.put, row.duplicated), (20, 125_000, 7));
        assert_eq!(row.outcome, "exit 0");
    }

    #[test]
    fn a_broken_line_is_an_error_not_a_row() {
        assert!(parse_row(r#"{"fault":"x","trials":1"#).is_err());
        assert!(parse_row(r#"{"fault":"x"}"#).is_err(), "missing columns");
    }

    #[test]
    fn the_table_has_one_line_per_row_and_escapes_pipes() {
        let rows = [Row {
            suite: "faults_aws".into(),
            fault: "a|b".into(),
            trials: 1,
            put: 10,
            delivered: 10,
            lost: 0,
            duplicated: 0,
            out_of_order: 0,
            outcome: "exit 0".into(),
        }];
        let table = table(&rows, true);
        assert!(
            table.contains("| a\\|b | 1 | 10 | 10 | 0 | 0 | 0 | exit 0 |"),
            "{table}"
        );
    }
}
