//! Wazuh's debug level for its modules, `wazuh_modules.debug`, read from
//! `internal_options.conf` and `local_internal_options.conf` as Wazuh reads them.
//!
//! Wazuh's parser (`getDefine_Int` and `_read_file` in `src/shared/read-internal.c`):
//! the local file is read first and, when it sets the option, wins; in each
//! file the first line that sets it counts. A line is `section.option=value`;
//! lines starting with `#`, a space or nothing are skipped; spaces between the
//! option and `=` and after `=` are ignored. The value must be digits, 0 to 2;
//! an empty value reads as 0.
//!
//! Where Wazuh differs, and why:
//! - An invalid value ("Invalid definition for wazuh_modules.debug: 'x'.") makes
//!   Wazuh exit; we report [`InternalOptionsError::InvalidValue`], which the
//!   caller logs as a warning before going on at level 0: a debug setting is
//!   not worth refusing to collect events for.
//! - Trailing spaces, tabs or a carriage return after the value are ignored
//!   (Wazuh rejects them, and with them the whole manager, so it never runs with
//!   a value that reads differently here).
//! - A missing `internal_options.conf` is simply "not set" (Wazuh exits): this
//!   program may run on a machine without Wazuh's files.

// Until the rewritten main.rs reads the level for `run`.
#![allow(dead_code)]

use std::io;
use std::path::{Path, PathBuf};

/// Wazuh's own options file, in `<WAZUH_HOME>/etc`.
pub const INTERNAL_OPTIONS: &str = "internal_options.conf";
/// The administrator's overrides, which survive upgrades.
pub const LOCAL_INTERNAL_OPTIONS: &str = "local_internal_options.conf";

const SECTION: &[u8] = b"wazuh_modules";
const OPTION: &[u8] = b"debug";
const MAX_LEVEL: u8 = 2;

/// Why the debug level could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InternalOptionsError {
    /// A file exists but cannot be read (permissions, a directory...).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The option is set to something other than 0, 1 or 2. The first sentence
    /// is Wazuh's own message.
    #[error(
        "Invalid definition for wazuh_modules.debug: '{value}'. ({}, line {line}: expected 0, 1 or 2)",
        path.display()
    )]
    InvalidValue {
        path: PathBuf,
        line: usize,
        value: String,
    },
}

/// `wazuh_modules.debug` (0-2) from `etc_dir` (`<WAZUH_HOME>/etc`): the local
/// file's setting, else the main file's, else `None`.
pub fn wazuh_modules_debug(etc_dir: &Path) -> Result<Option<u8>, InternalOptionsError> {
    for name in [LOCAL_INTERNAL_OPTIONS, INTERNAL_OPTIONS] {
        let path = etc_dir.join(name);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(InternalOptionsError::Read { path, source }),
        };
        if let Some((line, value)) = find_option(&text) {
            return parse_level(value).map(Some).ok_or_else(|| {
                InternalOptionsError::InvalidValue {
                    path,
                    line,
                    value: String::from_utf8_lossy(value).into_owned(),
                }
            });
        }
    }
    Ok(None)
}

/// The 1-based line and raw value of the first line setting
/// `wazuh_modules.debug`.
fn find_option(text: &[u8]) -> Option<(usize, &[u8])> {
    text.split(|&byte| byte == b'\n')
        .enumerate()
        .find_map(|(index, line)| option_value(line).map(|value| (index + 1, value)))
}

fn option_value(line: &[u8]) -> Option<&[u8]> {
    if matches!(line.first(), None | Some(b'#' | b' ')) {
        return None;
    }
    let (section, rest) = split_once(line, b'.')?;
    let (option, value) = split_once(rest, b'=')?;
    (section == SECTION && option.trim_ascii_end() == OPTION).then_some(value.trim_ascii())
}

fn split_once(bytes: &[u8], separator: u8) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&byte| byte == separator)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

/// Digits only, 0 to [`MAX_LEVEL`]; nothing at all reads as 0, as C's `atoi` does.
fn parse_level(value: &[u8]) -> Option<u8> {
    if !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digits = std::str::from_utf8(value).ok()?;
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Some(0);
    }
    significant
        .parse::<u8>()
        .ok()
        .filter(|level| *level <= MAX_LEVEL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etc(internal: Option<&str>, local: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = internal {
            std::fs::write(dir.path().join(INTERNAL_OPTIONS), text).unwrap();
        }
        if let Some(text) = local {
            std::fs::write(dir.path().join(LOCAL_INTERNAL_OPTIONS), text).unwrap();
        }
        dir
    }

    const WAZUH_DEFAULTS: &str = "\
# Wazuh Modules - Debug level
# 0 = no debug, 1 = debug, 2 = verbose
wazuh_modules.debug=0

# Wazuh Modules - Task Manager
wazuh_modules.task_nodes=5
";

    #[test]
    fn neither_file_means_not_set() {
        let dir = etc(None, None);
        assert_eq!(wazuh_modules_debug(dir.path()).unwrap(), None);
        let dir = etc(Some("analysisd.debug=2\n"), Some("# nothing\n"));
        assert_eq!(wazuh_modules_debug(dir.path()).unwrap(), None);
    }

    #[test]
    fn the_main_file_alone_sets_it() {
        let dir = etc(Some(WAZUH_DEFAULTS), None);
        assert_eq!(wazuh_modules_debug(dir.path()).unwrap(), Some(0));
    }

    #[test]
    fn the_local_file_wins() {
        let dir = etc(Some(WAZUH_DEFAULTS), Some("wazuh_modules.debug=2\n"));
        assert_eq!(wazuh_modules_debug(dir.path()).unwrap(), Some(2));
        // Even without the main file.
        let dir = etc(None, Some("wazuh_modules.debug=1"));
        assert_eq!(wazuh_modules_debug(dir.path()).unwrap(), Some(1));
        // A local file that does not set it leaves the main file's value.
        let dir = etc(
            Some("wazuh_modules.debug=1\n"),
            Some("analysisd.debug=2\nwazuh_modules.task_nodes=3\n"),
        );
        assert_eq!(wazuh_modules_debug(dir.path()).unwrap(), Some(1));
    }

    #[test]
    fn the_first_setting_in_a_file_counts() {
        let dir = etc(Some("wazuh_modules.debug=1\nwazuh_modules.debug=2\n"), None);
        assert_eq!(wazuh_modules_debug(dir.path()).unwrap(), Some(1));
    }

    #[test]
    fn spaces_around_the_equal_sign_and_line_ends_are_accepted() {
        for text in [
            "wazuh_modules.debug = 2\n",
            "wazuh_modules.debug   =2\n",
            "wazuh_modules.debug=  2\n",
            "wazuh_modules.debug=2\r\n",
            "wazuh_modules.debug=2 \t\n",
        ] {
            let dir = etc(Some(text), None);
            assert_eq!(
                wazuh_modules_debug(dir.path()).unwrap(),
                Some(2),
                "{text:?}"
            );
        }
    }

    #[test]
    fn comments_and_lines_starting_with_a_space_are_skipped() {
        // Wazuh skips a line starting with a space entirely, setting or not.
        let dir = etc(
            Some("#wazuh_modules.debug=2\n wazuh_modules.debug=2\n\nwazuh_modules.debug=1\n"),
            None,
        );
        assert_eq!(wazuh_modules_debug(dir.path()).unwrap(), Some(1));
        // Neither other sections nor options with the same prefix match.
        let dir = etc(
            Some("wazuh_modules2.debug=2\nwazuh_modules.debugx=2\nnot a setting\n"),
            None,
        );
        assert_eq!(wazuh_modules_debug(dir.path()).unwrap(), None);
    }

    #[test]
    fn an_empty_value_is_zero_as_with_atoi() {
        let dir = etc(Some("wazuh_modules.debug=\n"), None);
        assert_eq!(wazuh_modules_debug(dir.path()).unwrap(), Some(0));
        let dir = etc(Some("wazuh_modules.debug=002\n"), None);
        assert_eq!(wazuh_modules_debug(dir.path()).unwrap(), Some(2));
    }

    #[test]
    fn a_bad_value_is_an_error_naming_file_line_and_value() {
        for bad in ["3", "-1", "x", "1 # comment", "99999999999999999999", "1.0"] {
            let dir = etc(
                Some(WAZUH_DEFAULTS),
                Some(&format!("# overrides\nwazuh_modules.debug={bad}\n")),
            );
            let error = wazuh_modules_debug(dir.path()).unwrap_err();
            let path = dir.path().join(LOCAL_INTERNAL_OPTIONS);
            match &error {
                InternalOptionsError::InvalidValue {
                    path: error_path,
                    line,
                    value,
                } => {
                    assert_eq!(error_path, &path);
                    assert_eq!(*line, 2);
                    assert_eq!(value, bad);
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(
                error.to_string(),
                format!(
                    "Invalid definition for wazuh_modules.debug: '{bad}'. ({}, line 2: expected \
                     0, 1 or 2)",
                    path.display()
                )
            );
        }
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let dir = etc(Some(WAZUH_DEFAULTS), None);
        // A directory in the local file's place cannot be read, even as root.
        std::fs::create_dir(dir.path().join(LOCAL_INTERNAL_OPTIONS)).unwrap();
        let error = wazuh_modules_debug(dir.path()).unwrap_err();
        assert!(
            matches!(error, InternalOptionsError::Read { .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().starts_with(&format!(
                "cannot read {}: ",
                dir.path().join(LOCAL_INTERNAL_OPTIONS).display()
            )),
            "{error}"
        );
    }
}
