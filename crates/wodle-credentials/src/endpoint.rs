//! Custom endpoint URLs, validated once so that building a client cannot fail later.

use std::fmt;

use crate::error::CredentialsError;

/// An `http` or `https` URL with a host, e.g. a VPC interface endpoint or an emulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
}

impl Endpoint {
    /// Accepts a URL or, as the reference's documentation writes them, a bare host name
    /// (`logs.us-east-1.amazonaws.com`), which means `https://` that host.
    pub fn parse(text: &str) -> Result<Endpoint, CredentialsError> {
        let text = text.trim();
        let invalid = |reason: &str| CredentialsError::InvalidEndpoint {
            endpoint: text.to_owned(),
            reason: reason.to_owned(),
        };
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("https://{text}")
        };
        let url = url::Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it has no host"));
        }
        // The SDK appends each operation's path itself; a lone trailing slash would double it.
        let url = url
            .as_str()
            .strip_suffix('/')
            .unwrap_or(url.as_str())
            .to_owned();
        Ok(Endpoint { url })
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_kept_and_bare_hosts_mean_https() {
        let cases = [
            ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
            ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
            (
                "logs.us-east-1.amazonaws.com",
                "https://logs.us-east-1.amazonaws.com",
            ),
            (
                " vpce-1a2b.sts.eu-west-1.vpce.amazonaws.com ",
                "https://vpce-1a2b.sts.eu-west-1.vpce.amazonaws.com",
            ),
            ("https://proxy.example/aws", "https://proxy.example/aws"),
        ];
        for (given, expected) in cases {
            assert_eq!(Endpoint::parse(given).expect(given).as_str(), expected);
        }
    }

    #[test]
    fn nonsense_is_rejected() {
        for given in ["", "ftp://example.com", "http://", "https://exa mple.com"] {
            let error = Endpoint::parse(given).expect_err(given);
            assert!(
                matches!(error, CredentialsError::InvalidEndpoint { .. }),
                "{given}"
            );
        }
    }
}
