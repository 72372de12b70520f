//! The checkpoint the wodle leaves: the reference's `cloudwatch_logs` table, read back and
//! shown with readable times.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::error::DemoError;

/// A row of `cloudwatch_logs`: the table the Python wodle and wodle-aws share, one row per
/// stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceRow {
    pub region: String,
    pub group: String,
    pub stream: String,
    /// GetLogEvents' forward token: where the next run goes on.
    pub next_token: Option<String>,
    /// The lower bound the stream was read from (epoch ms).
    pub start_time: Option<i64>,
    /// The timestamp of the last event delivered (epoch ms).
    pub end_time: Option<i64>,
}

/// Every row, ordered by region, group and stream. Opens the file read-only, so looking
/// never changes it.
pub fn reference_rows(database: &Path) -> Result<Vec<ReferenceRow>, DemoError> {
    let read = || -> rusqlite::Result<Vec<ReferenceRow>> {
        let connection = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut statement = connection.prepare(
            "SELECT aws_region, aws_log_group, aws_log_stream, next_token, start_time, end_time
             FROM cloudwatch_logs ORDER BY aws_region, aws_log_group, aws_log_stream",
        )?;
        statement
            .query_map([], |row| {
                Ok(ReferenceRow {
                    region: row.get(0)?,
                    group: row.get(1)?,
                    stream: row.get(2)?,
                    next_token: row.get(3)?,
                    start_time: row.get(4)?,
                    end_time: row.get(5)?,
                })
            })?
            .collect()
    };
    read().map_err(|source| DemoError::Database {
        path: database.to_path_buf(),
        source,
    })
}

/// How long a token may be before it is cut: they run to ~60 characters and say nothing to a
/// reader beyond "there is one".
const TOKEN_SHOWN_CHARS: usize = 24;

/// The row as an indented block: one line per column, times in epoch ms (as stored) and UTC.
pub fn describe(row: &ReferenceRow) -> String {
    let token = match &row.next_token {
        None => "NULL".to_owned(),
        Some(token) if token.chars().count() > TOKEN_SHOWN_CHARS => {
            let shown: String = token.chars().take(TOKEN_SHOWN_CHARS).collect();
            format!("{shown}… ({} chars)", token.chars().count())
        }
        Some(token) => token.clone(),
    };
    format!(
        "{} / {} / {}\n  start_time  {}\n  end_time    {}\n  next_token  {token}",
        row.region,
        row.group,
        row.stream,
        describe_time(row.start_time),
        describe_time(row.end_time),
    )
}

fn describe_time(millis: Option<i64>) -> String {
    let Some(millis) = millis else {
        return "NULL".to_owned();
    };
    let format = format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3] UTC"
    );
    match OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|time| time.format(format).ok())
    {
        Some(utc) => format!("{millis}  ({utc})"),
        None => millis.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ReferenceRow {
        ReferenceRow {
            region: "us-east-1".into(),
            group: "apache-access".into(),
            stream: "web-1".into(),
            next_token: Some("f/".to_owned() + &"3".repeat(56)),
            start_time: Some(1_764_115_200_000),
            end_time: Some(1_764_176_283_250),
        }
    }

    #[test]
    fn a_row_shows_its_times_in_utc_and_a_short_token() {
        assert_eq!(
            describe(&row()),
            "us-east-1 / apache-access / web-1\n\
             \x20 start_time  1764115200000  (2025-11-26 00:00:00.000 UTC)\n\
             \x20 end_time    1764176283250  (2025-11-26 16:58:03.250 UTC)\n\
             \x20 next_token  f/3333333333333333333333… (58 chars)"
        );
        let empty = ReferenceRow {
            next_token: None,
            start_time: None,
            end_time: None,
            ..row()
        };
        assert!(
            describe(&empty).ends_with("start_time  NULL\n  end_time    NULL\n  next_token  NULL")
        );
    }

    #[test]
    fn rows_are_read_back_from_the_reference_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aws_services.db");
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE cloudwatch_logs (
                    aws_region 'text' NOT NULL, aws_log_group 'text' NOT NULL,
                    aws_log_stream 'text' NOT NULL, next_token 'text',
                    start_time 'integer', end_time 'integer',
                    PRIMARY KEY (aws_region, aws_log_group, aws_log_stream));
                 INSERT INTO cloudwatch_logs VALUES
                    ('us-east-1', 'apache-access', 'web-2', NULL, NULL, NULL),
                    ('us-east-1', 'apache-access', 'web-1', 'f/3', 1, 2);",
            )
            .unwrap();
        let rows = reference_rows(&path).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.stream.as_str()).collect::<Vec<_>>(),
            ["web-1", "web-2"]
        );
        assert_eq!(rows[0].next_token.as_deref(), Some("f/3"));
        assert_eq!((rows[0].start_time, rows[0].end_time), (Some(1), Some(2)));

        let missing = reference_rows(&dir.path().join("absent.db")).unwrap_err();
        assert!(missing.to_string().contains("absent.db"), "{missing}");
    }
}
