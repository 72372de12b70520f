//! AWS's code and message of an SDK error, for [`crate::aws_error_kind`], in one place for
//! every crate that calls AWS.

use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::aws_error::{AwsErrorKind, aws_error_kind};

/// The error code and message AWS answered with, when the call reached AWS and got an
/// error response; `None` for failures before that (no connection, a timeout, ...).
///
/// Reads the SDK's parse of the response, else the response body itself: moto, and some
/// gateways, answer authentication failures as EC2-style XML
/// (`<ErrorResponse><Errors><Error><Code>`) whatever the service's protocol, which the
/// service's own parser does not understand.
pub fn service_error_code<E: ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> Option<(String, String)> {
    let service_error = error.as_service_error()?;
    if let Some(code) = service_error.code().filter(|code| !code.is_empty()) {
        let message = service_error.message().unwrap_or_default();
        return Some((code.to_owned(), message.to_owned()));
    }
    let body = std::str::from_utf8(error.raw_response()?.body().bytes()?).ok()?;
    let code = xml_element(body, "Code").filter(|code| !code.is_empty())?;
    let message = xml_element(body, "Message").unwrap_or_default();
    Some((code, message))
}

/// [`aws_error_kind`] of an SDK error; [`AwsErrorKind::Other`] when AWS did not answer.
pub fn sdk_error_kind<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> AwsErrorKind {
    service_error_code(error).map_or(AwsErrorKind::Other, |(code, message)| {
        aws_error_kind(&code, &message)
    })
}

/// The code and message to report for a failed AWS call: AWS's own when it
/// answered with an error, else the kind of failure (`Timeout`,
/// `DispatchFailure` for a connection that failed or broke, `ResponseError`,
/// `ConstructionFailure`) and its causes in words.
pub fn failure_code_and_message<E>(error: &SdkError<E, HttpResponse>) -> (String, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some(answer) = service_error_code(error) {
        return answer;
    }
    let kind = match error {
        SdkError::TimeoutError(_) => "Timeout",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ResponseError(_) => "ResponseError",
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        _ => "Unknown",
    };
    (kind.to_owned(), ErrorChain(error).to_string())
}

/// An error and its sources, `outer: inner: innermost`, for messages meant for
/// people: the SDK's `DisplayErrorContext` appends the whole `Debug` form,
/// which buries the cause (and can run to kilobytes of response dump).
pub struct ErrorChain<'e>(pub &'e (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut written = self.0.to_string();
        f.write_str(&written)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            // Many layers repeat their source's words in their own.
            if !text.is_empty() && !written.contains(&text) {
                write!(f, ": {text}")?;
                written = text;
            }
            source = cause.source();
        }
        Ok(())
    }
}

/// The text of the first `<name>` element, with XML's predefined entities decoded.
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let (_, rest) = xml.split_once(&format!("<{name}>"))?;
    let (text, _) = rest.split_once(&format!("</{name}>"))?;
    Some(
        text.trim()
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: &'static str,
        #[source]
        source: Option<Box<Layer>>,
    }

    fn layers(texts: &[&'static str]) -> Layer {
        texts
            .iter()
            .rev()
            .fold(None, |inner: Option<Layer>, text| {
                Some(Layer {
                    text,
                    source: inner.map(Box::new),
                })
            })
            .expect("at least one layer")
    }

    #[test]
    fn an_error_chain_names_every_cause_once_without_debug_dumps() {
        let error = layers(&[
            "dispatch failure",
            "io error",
            "tcp connect error",
            "Connection refused (os error 111)",
        ]);
        assert_eq!(
            ErrorChain(&error).to_string(),
            "dispatch failure: io error: tcp connect error: Connection refused (os error 111)"
        );
        let repeating = layers(&[
            "service error",
            "ThrottlingException: Rate exceeded",
            "Rate exceeded",
        ]);
        assert_eq!(
            ErrorChain(&repeating).to_string(),
            "service error: ThrottlingException: Rate exceeded"
        );
    }

    #[test]
    fn elements_are_found_and_decoded() {
        let body = "<?xml version=\"1.0\"?><ErrorResponse><Errors><Error>\
                    <Code>InvalidClientTokenId</Code>\
                    <Message>The token &apos;x&apos; is &lt;invalid&gt; &amp; old</Message>\
                    </Error></Errors></ErrorResponse>";
        assert_eq!(
            xml_element(body, "Code").as_deref(),
            Some("InvalidClientTokenId")
        );
        assert_eq!(
            xml_element(body, "Message").as_deref(),
            Some("The token 'x' is <invalid> & old")
        );
        assert_eq!(xml_element(body, "Type"), None);
        assert_eq!(xml_element("<Code>unterminated", "Code"), None);
    }
}
