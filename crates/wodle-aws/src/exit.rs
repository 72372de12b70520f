//! Exit codes: the reference's, so modulesd's warnings and administrators'
//! scripts keep their meaning.

use std::process::ExitCode;

/// How the program ends. The numbers are the reference's (spec §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// The reference's "unknown error".
    Unknown,
    /// `check-config` or `run` found the configuration invalid.
    InvalidConfiguration,
    /// Stopped by SIGINT.
    Interrupted,
    /// AWS rejected the credentials.
    InvalidCredentials,
    /// The checkpoint database cannot be used: read-only, corrupt, full,
    /// locked by another program past the busy timeout, or an SQL error (the
    /// reference's "SQLite access error").
    DatabaseAccess,
    /// The checkpoint database (or its lock file) cannot be created or opened.
    DatabaseCreate,
    /// analysisd is not running (socket missing, nobody bound, queue stuck).
    WazuhNotRunning,
    /// Any other failure before collection (no credentials, missing
    /// profile...), and the database locked by another wodle-aws, which the
    /// reference has no code for.
    GenericError,
    /// A datagram could not be sent for another reason.
    SendError,
    InvalidEndpoint,
    /// AWS refused or failed a request (missing group, throttling, access denied).
    ClientError,
    /// `~/.aws/config` cannot be parsed.
    InvalidKeyFormat,
    /// The local clock differs too much from AWS's.
    ClockSkew,
    /// A region that is malformed or unknown.
    InvalidRegion,
    /// A named profile is in neither AWS file while `~/.aws/config` exists.
    ProfileNotFound,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Unknown | ExitStatus::InvalidConfiguration => 1,
            ExitStatus::Interrupted => 2,
            ExitStatus::InvalidCredentials => 3,
            ExitStatus::DatabaseAccess => 5,
            ExitStatus::DatabaseCreate => 6,
            ExitStatus::WazuhNotRunning => 11,
            ExitStatus::GenericError => 12,
            ExitStatus::SendError => 13,
            ExitStatus::InvalidEndpoint => 15,
            ExitStatus::ClientError => 16,
            ExitStatus::InvalidKeyFormat => 17,
            ExitStatus::ClockSkew => 19,
            ExitStatus::InvalidRegion => 22,
            ExitStatus::ProfileNotFound => 23,
        }
    }

    /// The status for one of the reference's codes, as libraries report them.
    pub fn from_code(code: i32) -> ExitStatus {
        match code {
            0 => ExitStatus::Success,
            2 => ExitStatus::Interrupted,
            3 => ExitStatus::InvalidCredentials,
            5 => ExitStatus::DatabaseAccess,
            6 => ExitStatus::DatabaseCreate,
            11 => ExitStatus::WazuhNotRunning,
            12 => ExitStatus::GenericError,
            13 => ExitStatus::SendError,
            15 => ExitStatus::InvalidEndpoint,
            16 => ExitStatus::ClientError,
            17 => ExitStatus::InvalidKeyFormat,
            19 => ExitStatus::ClockSkew,
            22 => ExitStatus::InvalidRegion,
            23 => ExitStatus::ProfileNotFound,
            _ => ExitStatus::Unknown,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in [0, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 19, 22, 23] {
            assert_eq!(i32::from(ExitStatus::from_code(code).code()), code);
        }
        assert_eq!(ExitStatus::from_code(99), ExitStatus::Unknown);
    }
}
