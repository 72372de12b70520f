//! What an AWS error code means for the caller, from plain strings, so that every crate and
//! the binary classify service errors the same way (and map them to the reference's exit
//! codes) without depending on any SDK type.

/// The families of AWS errors the reference tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AwsErrorKind {
    /// The access key is unknown, the secret or token does not match it, or a temporary
    /// token expired (the reference: exit 3).
    InvalidCredentials,
    /// The request's signing time is too far from AWS's clock (the reference: exit 19).
    ClockSkew,
    /// A request rate was exceeded; the SDK already retried (the reference: exit 16).
    Throttling,
    /// The credentials are valid but not allowed to do this.
    AccessDenied,
    /// The named resource (a log group, say) does not exist.
    NotFound,
    Other,
}

/// Codes of rejected credentials across protocols: STS and the query APIs answer
/// `InvalidClientTokenId`/`SignatureDoesNotMatch`, JSON APIs such as CloudWatch Logs
/// `UnrecognizedClientException`/`InvalidSignatureException`, EC2 `AuthFailure`, S3
/// `InvalidAccessKeyId`.
const INVALID_CREDENTIALS: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "IncompleteSignature",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
    "InvalidAccessKeyId",
];

const CLOCK_SKEW: &[&str] = &[
    "RequestExpired",
    "RequestTimeTooSkewed",
    "RequestInTheFuture",
];

/// The codes the SDK's own retry classifier treats as throttling, plus the ones the
/// reference names.
const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
];

const ACCESS_DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
];

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

/// Classifies an AWS error by its code (e.g. `InvalidClientTokenId`) and message.
///
/// The message matters only for a stale signature: AWS answers it with a credentials code
/// (`SignatureDoesNotMatch`, `InvalidSignatureException`) and the message
/// `Signature expired: ...`, which is a clock problem, not a key problem.
pub fn aws_error_kind(code: &str, message: &str) -> AwsErrorKind {
    let code = code.trim();
    if CLOCK_SKEW.contains(&code) || is_signature_expired(message) {
        AwsErrorKind::ClockSkew
    } else if INVALID_CREDENTIALS.contains(&code) {
        AwsErrorKind::InvalidCredentials
    } else if THROTTLING.contains(&code) {
        AwsErrorKind::Throttling
    } else if ACCESS_DENIED.contains(&code) {
        AwsErrorKind::AccessDenied
    } else if NOT_FOUND.contains(&code) {
        AwsErrorKind::NotFound
    } else {
        AwsErrorKind::Other
    }
}

fn is_signature_expired(message: &str) -> bool {
    message.to_ascii_lowercase().contains("signature expired")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_code_has_its_kind() {
        let cases = [
            (INVALID_CREDENTIALS, AwsErrorKind::InvalidCredentials),
            (CLOCK_SKEW, AwsErrorKind::ClockSkew),
            (THROTTLING, AwsErrorKind::Throttling),
            (ACCESS_DENIED, AwsErrorKind::AccessDenied),
            (NOT_FOUND, AwsErrorKind::NotFound),
        ];
        for (codes, kind) in cases {
            for code in codes {
                assert_eq!(aws_error_kind(code, "whatever"), kind, "{code}");
            }
        }
    }

    #[test]
    fn the_codes_the_reference_names() {
        for (code, kind) in [
            ("InvalidClientTokenId", AwsErrorKind::InvalidCredentials),
            ("SignatureDoesNotMatch", AwsErrorKind::InvalidCredentials),
            (
                "UnrecognizedClientException",
                AwsErrorKind::InvalidCredentials,
            ),
            ("ExpiredTokenException", AwsErrorKind::InvalidCredentials),
            ("RequestTimeTooSkewed", AwsErrorKind::ClockSkew),
            ("ThrottlingException", AwsErrorKind::Throttling),
            ("AccessDeniedException", AwsErrorKind::AccessDenied),
            ("ResourceNotFoundException", AwsErrorKind::NotFound),
        ] {
            assert_eq!(aws_error_kind(code, ""), kind, "{code}");
        }
    }

    #[test]
    fn an_expired_signature_is_the_clock_whatever_the_code() {
        let message = "Signature expired: 20240101T000000Z is now earlier than 20240101T001500Z \
                       (20240101T002000Z - 5 min.)";
        assert_eq!(
            aws_error_kind("SignatureDoesNotMatch", message),
            AwsErrorKind::ClockSkew
        );
        assert_eq!(
            aws_error_kind("InvalidSignatureException", message),
            AwsErrorKind::ClockSkew
        );
        assert_eq!(
            aws_error_kind(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided."
            ),
            AwsErrorKind::InvalidCredentials
        );
    }

    #[test]
    fn codes_are_exact_and_unknown_ones_are_other() {
        for code in [
            "",
            "throttlingexception",
            "InternalFailure",
            "ServiceUnavailable",
        ] {
            assert_eq!(
                aws_error_kind(code, "oops"),
                AwsErrorKind::Other,
                "{code:?}"
            );
        }
        assert_eq!(
            aws_error_kind(" ThrottlingException ", ""),
            AwsErrorKind::Throttling,
            "surrounding blanks do not matter"
        );
    }
}
