//! Exit codes: the reference's, so modulesd's warnings and administrators'
//! scripts keep their meaning.

use std::process::ExitCode;

/// How the program ends. The numbers are the reference's where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// `check-config` or `run` found the configuration invalid.
    InvalidConfiguration,
    /// The requested mode cannot collect yet in this version. The reference's
    /// "unknown error" code, so modulesd reports a failure.
    NotImplemented,
    /// A region that is malformed or unknown (the reference's 22).
    InvalidRegion,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::InvalidConfiguration => 1,
            ExitStatus::NotImplemented => 1,
            ExitStatus::InvalidRegion => 22,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}
