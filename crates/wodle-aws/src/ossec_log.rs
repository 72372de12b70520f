//! Log lines appended to Wazuh's `<WAZUH_HOME>/logs/ossec.log`, in the format of
//! Wazuh's own daemons, so `run` mode logs where modulesd would:
//!
//! ```text
//! 2026/11/26 14:00:00 wazuh-modulesd:aws-s3: INFO: Module AWS started
//! ```
//!
//! Local time, the module's tag, Wazuh's level word, the message. Wazuh writes a
//! message's line breaks as they are, which splits one event over several lines
//! that no longer carry the prefix; here a line break becomes the two characters
//! `\n` (a carriage return `\r`), so every line of the file is one whole event
//! and searches for the prefix find it. (With its debug flag on, Wazuh also
//! prints its pid and source position after the tag; we never do.)
//!
//! Like Wazuh's `_log`, the file is opened for each line (append, created with
//! mode 0o660 when missing): Wazuh's daily rotation renames the file under a
//! running daemon, and the next line must go to the new one. A write error never
//! stops the program; the first is reported on stderr, the next ones silently.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use time::OffsetDateTime;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::logging::level_label_of;

/// The tag modulesd gives the aws-s3 module's lines.
pub const TAG: &str = "wazuh-modulesd:aws-s3";

/// ossec.log below Wazuh's home.
// Until the rewritten main.rs passes it to `logging::init_with_ossec_log` in `run` mode.
#[allow(dead_code)]
pub fn default_path(wazuh_home: &Path) -> PathBuf {
    wazuh_home.join("logs/ossec.log")
}

/// The current time on the machine's clock (UTC when its offset is unknown).
pub fn local_now() -> OffsetDateTime {
    OffsetDateTime::now_local().unwrap_or_else(|_| OffsetDateTime::now_utc())
}

/// Writes one line: `YYYY/MM/DD HH:MM:SS TAG: LEVEL: message`, the time as read
/// on `time`'s own offset, line breaks in `message` escaped.
pub fn write_line(
    out: &mut impl fmt::Write,
    time: OffsetDateTime,
    level: &str,
    message: &str,
) -> fmt::Result {
    write!(
        out,
        "{:04}/{:02}/{:02} {:02}:{:02}:{:02} {TAG}: {level}: ",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )?;
    for c in message.trim_end_matches(['\n', '\r']).chars() {
        match c {
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('\n')
}

/// The event format of the ossec.log layer. `clock` gives the time of each line
/// ([`local_now`] outside tests).
pub struct WazuhLineFormat {
    pub clock: fn() -> OffsetDateTime,
}

impl<S, N> FormatEvent<S, N> for WazuhLineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut message = String::new();
        ctx.field_format()
            .format_fields(Writer::new(&mut message), event)?;
        write_line(
            &mut writer,
            (self.clock)(),
            level_label_of(event.metadata()),
            &message,
        )
    }
}

/// The ossec.log file as a `tracing` writer: each line is one append.
#[derive(Debug)]
pub struct OssecLog {
    path: PathBuf,
    error_reported: AtomicBool,
}

impl OssecLog {
    pub fn new(path: PathBuf) -> OssecLog {
        OssecLog {
            path,
            error_reported: AtomicBool::new(false),
        }
    }

    fn append(&self, line: &[u8]) -> io::Result<()> {
        // One write of the whole line with O_APPEND: lines of Wazuh's daemons
        // appending to the same file at the same time never interleave with ours.
        OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o660)
            .open(&self.path)?
            .write_all(line)
    }

    /// The message for stderr the first time a line cannot be written; `None`
    /// afterwards.
    fn report_once(&self, error: &io::Error) -> Option<String> {
        (!self.error_reported.swap(true, Ordering::Relaxed)).then(|| {
            format!(
                "WARNING: cannot append to {}: {error}. Log lines still go to stderr; later \
                 errors writing to that file are not reported.",
                self.path.display()
            )
        })
    }
}

impl io::Write for &OssecLog {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        if let Err(error) = self.append(line)
            && let Some(report) = self.report_once(&error)
        {
            eprintln!("{report}");
        }
        // Always "written": a logging failure must not become an error elsewhere.
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use time::macros::datetime;

    use super::*;

    fn line(time: OffsetDateTime, level: &str, message: &str) -> String {
        let mut out = String::new();
        write_line(&mut out, time, level, message).unwrap();
        out
    }

    #[test]
    fn the_line_is_in_wazuh_format() {
        assert_eq!(
            line(
                datetime!(2026-11-26 14:00:00 UTC),
                "INFO",
                "Module AWS started"
            ),
            "2026/11/26 14:00:00 wazuh-modulesd:aws-s3: INFO: Module AWS started\n"
        );
        // Zero-padded, read on the offset given (the local one in production).
        assert_eq!(
            line(
                datetime!(2027-01-02 03:04:05.999 +01:00),
                "WARNING",
                "Interval overtaken."
            ),
            "2027/01/02 03:04:05 wazuh-modulesd:aws-s3: WARNING: Interval overtaken.\n"
        );
    }

    #[test]
    fn line_breaks_are_escaped_so_an_event_stays_one_line() {
        assert_eq!(
            line(
                datetime!(2026-11-26 14:00:00 UTC),
                "DEBUG",
                "Service settings:\n  regions: us-east-1\r\n  groups: app\n"
            ),
            "2026/11/26 14:00:00 wazuh-modulesd:aws-s3: DEBUG: Service settings:\\n  regions: \
             us-east-1\\r\\n  groups: app\n"
        );
    }

    #[test]
    fn appending_keeps_what_the_file_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ossec.log");
        let before = "2026/11/26 13:59:59 wazuh-modulesd: INFO: Started (pid: 1).\n";
        std::fs::write(&path, before).unwrap();
        let log = OssecLog::new(path.clone());
        (&log).write_all(b"first\n").unwrap();
        (&log).write_all(b"second\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{before}first\nsecond\n")
        );
    }

    #[test]
    fn a_missing_file_is_created_without_access_for_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ossec.log");
        let log = OssecLog::new(path.clone());
        (&log).write_all(b"line\n").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // 0o660 less the umask.
        assert_eq!(mode & !0o660, 0, "{mode:o}");
        assert_eq!(mode & 0o600, 0o600, "{mode:o}");
    }

    #[test]
    fn a_rotated_file_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ossec.log");
        let log = OssecLog::new(path.clone());
        (&log).write_all(b"before rotation\n").unwrap();
        let rotated = dir.path().join("ossec-26.log");
        std::fs::rename(&path, &rotated).unwrap();
        (&log).write_all(b"after rotation\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&rotated).unwrap(),
            "before rotation\n"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "after rotation\n");
    }

    #[test]
    fn a_write_error_is_reported_once_and_never_fails_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        // A directory cannot be opened for appending, even by root.
        let log = OssecLog::new(dir.path().to_path_buf());
        assert_eq!((&log).write(b"lost\n").unwrap(), 5);
        (&log).write_all(b"lost again\n").unwrap();
        assert!(log.error_reported.load(Ordering::Relaxed));

        let fresh = OssecLog::new(dir.path().to_path_buf());
        let error = io::Error::from(io::ErrorKind::PermissionDenied);
        let report = fresh.report_once(&error).unwrap();
        assert!(
            report.starts_with(&format!(
                "WARNING: cannot append to {}: ",
                dir.path().display()
            )),
            "{report}"
        );
        assert_eq!(fresh.report_once(&error), None);
    }

    #[test]
    fn the_default_path_is_under_logs() {
        assert_eq!(
            default_path(Path::new("/var/ossec")),
            PathBuf::from("/var/ossec/logs/ossec.log")
        );
    }
}
