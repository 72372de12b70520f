//! The one HTTP client every AWS call goes through (credential sources, STS, CloudWatch
//! Logs), with the proxies and extra trusted certificates botocore users expect.
//!
//! Built here rather than left to the SDK because the SDK reads no CA bundle at all, and
//! reads proxy variables only in some behaviour versions and only from the process
//! environment, which makes them untestable; here they come from [`HttpSettings`].

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Connector, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::CredentialsError;

/// The environment variable of the CA bundle, as botocore and the AWS CLI read it.
pub const CA_BUNDLE_VARIABLE: &str = "AWS_CA_BUNDLE";

/// Proxies and extra trusted certificates for every AWS call.
///
/// [`HttpSettings::from_env`] reads them as botocore (and so the reference) does;
/// [`HttpSettings::default`] means no proxy and the system's roots only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HttpSettings {
    /// The proxy for `http://` endpoints (`http_proxy`/`HTTP_PROXY`). A URL without a
    /// scheme means `http://`; `user:password@` in it is sent as proxy authentication.
    pub http_proxy: Option<String>,
    /// The proxy for `https://` endpoints, that is every AWS endpoint
    /// (`https_proxy`/`HTTPS_PROXY`); reached with `CONNECT`.
    pub https_proxy: Option<String>,
    /// Hosts reached without a proxy (`no_proxy`/`NO_PROXY`): comma-separated names (each
    /// also matching its subdomains; a leading dot is optional), IP addresses, CIDR
    /// networks, or `*` for every host.
    pub no_proxy: Option<String>,
    /// A PEM file of CA certificates to trust in addition to the system's roots
    /// (`AWS_CA_BUNDLE`). When `None`, the selected profile's `ca_bundle` key applies.
    ///
    /// Unlike botocore, whose bundle replaces its default roots, the certificates are
    /// added: a bundle made for a TLS-inspecting proxy then does not cut off the endpoints
    /// it does not inspect.
    pub ca_bundle: Option<PathBuf>,
}

impl HttpSettings {
    /// The settings of the process environment: `http_proxy`, `https_proxy`, `no_proxy`,
    /// each in lower case first, then upper case, as Python's `urllib` (and so botocore)
    /// reads them; empty values count as unset; and `AWS_CA_BUNDLE`.
    pub fn from_env() -> HttpSettings {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> HttpSettings {
        let variable = |name: &str| {
            [name.to_ascii_lowercase(), name.to_ascii_uppercase()]
                .into_iter()
                .filter_map(|name| lookup(&name))
                .find(|value| !value.trim().is_empty())
        };
        HttpSettings {
            http_proxy: variable("http_proxy"),
            https_proxy: variable("https_proxy"),
            no_proxy: variable("no_proxy"),
            ca_bundle: lookup(CA_BUNDLE_VARIABLE)
                .filter(|value| !value.trim().is_empty())
                .map(PathBuf::from),
        }
    }
}

/// Proxy URLs may carry a password: `Debug` shows them redacted.
impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSettings")
            .field("http_proxy", &self.http_proxy.as_deref().map(redacted))
            .field("https_proxy", &self.https_proxy.as_deref().map(redacted))
            .field("no_proxy", &self.no_proxy)
            .field("ca_bundle", &self.ca_bundle)
            .finish()
    }
}

/// A CA bundle file and the setting that named it, for error messages.
pub(crate) struct CaBundleSource<'a> {
    pub path: &'a Path,
    pub origin: String,
}

/// Builds the HTTP client, failing on a proxy URL or CA bundle that cannot work.
pub(crate) fn http_client(
    settings: &HttpSettings,
    ca_bundle: Option<CaBundleSource<'_>>,
) -> Result<SharedHttpClient, CredentialsError> {
    let no_proxy = settings.no_proxy.as_deref();
    let http_proxy = proxy_config(
        "http_proxy",
        settings.http_proxy.as_deref(),
        no_proxy,
        ProxyConfig::http,
    )?;
    let https_proxy = proxy_config(
        "https_proxy",
        settings.https_proxy.as_deref(),
        no_proxy,
        ProxyConfig::https,
    )?;
    let mut trust_store = TrustStore::default();
    if let Some(source) = ca_bundle {
        trust_store = trust_store.with_pem_certificate(read_ca_bundle(&source)?);
    }
    let tls_context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .map_err(|e| CredentialsError::HttpClient {
            reason: e.to_string(),
        })?;
    Ok(SharedHttpClient::new(ProxyAwareClient {
        tls_context,
        http_proxy,
        https_proxy,
        connectors: Mutex::default(),
    }))
}

fn proxy_config(
    variable: &'static str,
    url: Option<&str>,
    no_proxy: Option<&str>,
    for_scheme: fn(String) -> Result<ProxyConfig, aws_smithy_http_client::proxy::ProxyError>,
) -> Result<ProxyConfig, CredentialsError> {
    let Some(url) = url.map(str::trim).filter(|url| !url.is_empty()) else {
        return Ok(ProxyConfig::disabled());
    };
    // botocore's rule: a proxy without a scheme is an HTTP proxy.
    let url = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{}", url.trim_start_matches("//"))
    };
    let invalid = |reason: String| CredentialsError::InvalidProxy {
        variable,
        url: redacted(&url),
        reason,
    };
    let parsed = url::Url::parse(&url).map_err(|e| invalid(e.to_string()))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".to_owned()));
    }
    let config = for_scheme(url.clone()).map_err(|e| invalid(e.to_string()))?;
    Ok(match no_proxy {
        Some(rules) if !rules.trim().is_empty() => config.no_proxy(rules),
        _ => config,
    })
}

/// The URL with any password replaced, for messages and logs.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot have a password, which this one has.
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) if url.contains('@') => "(a URL with credentials)".to_owned(),
        Err(_) => url.to_owned(),
    }
}

/// Reads and checks the bundle: the HTTP client would otherwise panic on a bad certificate
/// at its first request.
fn read_ca_bundle(source: &CaBundleSource<'_>) -> Result<Vec<u8>, CredentialsError> {
    let invalid = |reason: String| CredentialsError::InvalidCaBundle {
        origin: source.origin.clone(),
        path: source.path.to_owned(),
        reason,
    };
    let pem = std::fs::read(source.path).map_err(|e| invalid(e.to_string()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("not a PEM file: {e}")))?;
    if certificates.is_empty() {
        return Err(invalid("it holds no PEM certificate".to_owned()));
    }
    for (index, certificate) in certificates.into_iter().enumerate() {
        rustls::RootCertStore::empty()
            .add(certificate)
            .map_err(|e| invalid(format!("certificate {} is not valid: {e}", index + 1)))?;
    }
    Ok(pem)
}

/// An [`HttpClient`] like the SDK's default one (hyper, rustls with aws-lc, one connection
/// pool per timeout setting), with a proxy per URL scheme.
struct ProxyAwareClient {
    tls_context: TlsContext,
    http_proxy: ProxyConfig,
    https_proxy: ProxyConfig,
    /// Building a connector loads the root certificates and starts a connection pool, so it
    /// is done once per timeout setting, as the SDK's client does.
    connectors: Mutex<HashMap<TimeoutKey, SharedHttpConnector>>,
}

/// The connect and read timeouts a connector was built with.
type TimeoutKey = (Option<Duration>, Option<Duration>);

impl fmt::Debug for ProxyAwareClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The proxy configurations may hold passwords.
        f.debug_struct("ProxyAwareClient")
            .field("http_proxy", &!self.http_proxy.is_disabled())
            .field("https_proxy", &!self.https_proxy.is_disabled())
            .finish_non_exhaustive()
    }
}

impl ProxyAwareClient {
    fn connector(
        &self,
        proxy: &ProxyConfig,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> Connector {
        let mut builder = ConnectorBuilder::default();
        builder.set_connector_settings(Some(settings.clone()));
        builder.set_sleep_impl(components.sleep_impl());
        builder.set_proxy_config(Some(proxy.clone()));
        builder
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(self.tls_context.clone())
            .build()
    }
}

impl HttpClient for ProxyAwareClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connectors
            .entry(key)
            .or_insert_with(|| {
                SharedHttpConnector::new(BySchemeConnector {
                    http: self.connector(&self.http_proxy, settings, components),
                    https: self.connector(&self.https_proxy, settings, components),
                })
            })
            .clone()
    }
}

/// Sends `http://` requests through one connector and all others through another, because
/// a connector takes a single proxy setting and `http_proxy` and `https_proxy` may differ.
#[derive(Debug)]
struct BySchemeConnector {
    http: Connector,
    https: Connector,
}

impl HttpConnector for BySchemeConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let plain_http = request
            .uri()
            .get(..7)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"));
        if plain_http {
            self.http.call(request)
        } else {
            self.https.call(request)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_from(variables: &[(&str, &str)]) -> HttpSettings {
        HttpSettings::from_lookup(|name| {
            variables
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn lower_case_variables_win_and_empty_ones_do_not_count() {
        let settings = settings_from(&[
            ("http_proxy", "http://lower:3128"),
            ("HTTP_PROXY", "http://upper:3128"),
            ("https_proxy", ""),
            ("HTTPS_PROXY", "http://upper-tls:3128"),
            ("NO_PROXY", "169.254.169.254,.internal"),
            ("AWS_CA_BUNDLE", "/etc/ssl/corp.pem"),
        ]);
        assert_eq!(
            settings,
            HttpSettings {
                http_proxy: Some("http://lower:3128".to_owned()),
                https_proxy: Some("http://upper-tls:3128".to_owned()),
                no_proxy: Some("169.254.169.254,.internal".to_owned()),
                ca_bundle: Some(PathBuf::from("/etc/ssl/corp.pem")),
            }
        );
        assert_eq!(
            settings_from(&[("AWS_CA_BUNDLE", " ")]),
            HttpSettings::default()
        );
    }

    #[test]
    fn proxy_urls_are_checked_and_a_missing_scheme_means_http() {
        for good in [
            "http://proxy:3128",
            "proxy.corp:3128",
            "https://user:pw@proxy",
        ] {
            proxy_config("https_proxy", Some(good), None, ProxyConfig::https).expect(good);
        }
        for bad in ["ftp://proxy:21", "http://", "http://exa mple:1"] {
            let error =
                proxy_config("https_proxy", Some(bad), None, ProxyConfig::https).expect_err(bad);
            assert!(
                matches!(
                    error,
                    CredentialsError::InvalidProxy {
                        variable: "https_proxy",
                        ..
                    }
                ),
                "{bad}: {error:?}"
            );
        }
        assert!(
            proxy_config("http_proxy", Some("  "), None, ProxyConfig::http)
                .expect("blank")
                .is_disabled()
        );
    }

    #[test]
    fn proxy_passwords_never_show() {
        let error = proxy_config(
            "http_proxy",
            Some("gopher://user:s3cr3t@proxy:70"),
            None,
            ProxyConfig::http,
        )
        .expect_err("unsupported scheme");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("proxy:70"), "{shown}");

        let settings = HttpSettings {
            https_proxy: Some("http://user:s3cr3t@proxy:3128".to_owned()),
            ..HttpSettings::default()
        };
        let debug = format!("{settings:?}");
        assert!(
            !debug.contains("s3cr3t") && debug.contains("proxy:3128"),
            "{debug}"
        );
        let client = http_client(&settings, None).expect("a client");
        assert!(!format!("{client:?}").contains("s3cr3t"));
    }
}
