//! Custom endpoint URLs, validated once so that building a client cannot fail later, and
//! where a configuration's requests really go: AWS's own endpoints are https; an override
//! may be plain http (an emulator), which [`plain_http_endpoints`] finds for a warning.

use std::fmt;

use aws_config::SdkConfig;
use aws_types::service_config::ServiceConfigKey;

use crate::error::CredentialsError;
use crate::settings::CredentialSettings;

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

/// An AWS service wodle-aws calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AwsService {
    /// AssumeRole and GetCallerIdentity.
    Sts,
    CloudWatchLogs,
}

impl AwsService {
    /// The SDK's service id: `AWS_ENDPOINT_URL_<ID>` and a profile's `services` section use it.
    fn sdk_id(self) -> &'static str {
        match self {
            AwsService::Sts => "STS",
            AwsService::CloudWatchLogs => "CloudWatch Logs",
        }
    }
}

/// The URL that `service`'s requests go to instead of AWS's own endpoint, found as the SDK
/// finds it when a client is built from `config`: `explicit` (the `<sts_endpoint>` or
/// `<service_endpoint>` setting), else an endpoint set on the configuration itself, else
/// `AWS_ENDPOINT_URL_<SERVICE>` or the profile's `services` section, else `AWS_ENDPOINT_URL`
/// or the profile's `endpoint_url`. `None` means AWS's own endpoint for the region, which is
/// https in every partition ([`resolved_endpoint`] shows it).
pub fn endpoint_override(
    config: &SdkConfig,
    service: AwsService,
    explicit: Option<&Endpoint>,
) -> Option<String> {
    if let Some(endpoint) = explicit {
        return Some(endpoint.as_str().to_owned());
    }
    if config.get_origin("endpoint_url").is_client_config() {
        return config.endpoint_url().map(str::to_owned);
    }
    let key = ServiceConfigKey::builder()
        .service_id(service.sdk_id())
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build();
    config
        .service_config()
        .zip(key.ok())
        .and_then(|(services, key)| services.load_config(key))
        .or_else(|| config.endpoint_url().map(str::to_owned))
}

/// The URL a request of `service` in `config`'s region goes to, resolved by the SDK's own
/// endpoint rules (FIPS and dual-stack settings included) after [`endpoint_override`].
pub async fn resolved_endpoint(
    config: &SdkConfig,
    service: AwsService,
    explicit: Option<&Endpoint>,
) -> Result<String, CredentialsError> {
    let region = match (config.region(), service) {
        (Some(region), _) => Some(region.as_ref().to_owned()),
        // As `crate::sts_client` does.
        (None, AwsService::Sts) => Some(crate::STS_FALLBACK_REGION.to_owned()),
        (None, AwsService::CloudWatchLogs) => None,
    };
    let endpoint = endpoint_override(config, service, explicit);
    let use_fips = config.use_fips().unwrap_or(false);
    let use_dual_stack = config.use_dual_stack().unwrap_or(false);
    let unresolvable = |reason: String| CredentialsError::InvalidEndpoint {
        endpoint: endpoint.clone().unwrap_or_else(|| format!("{service:?}")),
        reason,
    };
    // Each SDK generates the same resolver API as types of its own: one body for both.
    macro_rules! resolve_with {
        ($sdk:ident) => {{
            use $sdk::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
            let params = Params::builder()
                .set_region(region)
                .use_fips(use_fips)
                .use_dual_stack(use_dual_stack)
                .set_endpoint(endpoint.clone())
                .build()
                .map_err(|e| unresolvable(e.to_string()))?;
            DefaultResolver::new().resolve_endpoint(&params).await
        }};
    }
    let resolved = match service {
        AwsService::Sts => resolve_with!(aws_sdk_sts),
        AwsService::CloudWatchLogs => resolve_with!(aws_sdk_cloudwatchlogs),
    };
    resolved
        .map(|resolved| resolved.url().to_owned())
        .map_err(|e| unresolvable(e.to_string()))
}

/// The distinct plain-http URLs among the STS and CloudWatch Logs endpoints that `config`
/// and `settings` (its `sts_endpoint` and `service_endpoint`) send requests to, in that
/// order: requests, answers and temporary credentials cross them unencrypted. Empty when
/// every call goes to AWS's own (https) endpoints or to https overrides.
pub fn plain_http_endpoints(config: &SdkConfig, settings: &CredentialSettings) -> Vec<String> {
    let mut plain = Vec::new();
    for (service, explicit) in [
        (AwsService::Sts, settings.sts_endpoint.as_ref()),
        (
            AwsService::CloudWatchLogs,
            settings.service_endpoint.as_ref(),
        ),
    ] {
        if let Some(url) = endpoint_override(config, service, explicit)
            && is_plain_http(&url)
            && !plain.contains(&url)
        {
            plain.push(url);
        }
    }
    plain
}

fn is_plain_http(url: &str) -> bool {
    url.trim_start()
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
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

    fn config_in(region: &str) -> SdkConfig {
        SdkConfig::builder()
            .region(aws_config::Region::new(region.to_owned()))
            .build()
    }

    #[tokio::test]
    async fn without_an_override_every_call_goes_to_aws_over_https() {
        for region in [
            "us-east-1",
            "eu-west-1",
            "ap-southeast-3",
            "me-central-1",
            "il-central-1",
            "us-gov-west-1",
            "cn-north-1",
        ] {
            let config = config_in(region);
            for service in [AwsService::Sts, AwsService::CloudWatchLogs] {
                assert_eq!(endpoint_override(&config, service, None), None);
                let url = resolved_endpoint(&config, service, None)
                    .await
                    .expect("AWS's endpoint");
                assert!(
                    url.starts_with("https://") && url.contains(region),
                    "{service:?} in {region}: {url}"
                );
            }
        }
        let logs = resolved_endpoint(&config_in("eu-west-1"), AwsService::CloudWatchLogs, None)
            .await
            .expect("AWS's endpoint");
        assert_eq!(logs, "https://logs.eu-west-1.amazonaws.com");
        let sts = resolved_endpoint(&SdkConfig::builder().build(), AwsService::Sts, None)
            .await
            .expect("STS without a region");
        assert!(sts.starts_with("https://sts."), "{sts}");
        assert!(
            plain_http_endpoints(&config_in("us-east-1"), &CredentialSettings::default())
                .is_empty()
        );
    }

    #[tokio::test]
    async fn an_override_is_where_requests_go_and_plain_http_ones_are_listed_once() {
        let explicit = Endpoint::parse("http://127.0.0.1:4566").expect("a URL");
        let config = config_in("us-east-1");
        assert_eq!(
            resolved_endpoint(&config, AwsService::CloudWatchLogs, Some(&explicit))
                .await
                .expect("the override"),
            "http://127.0.0.1:4566"
        );
        let settings = CredentialSettings {
            sts_endpoint: Some(explicit.clone()),
            service_endpoint: Some(explicit.clone()),
            ..CredentialSettings::default()
        };
        assert_eq!(
            plain_http_endpoints(&config, &settings),
            ["http://127.0.0.1:4566"]
        );
        let https = CredentialSettings {
            sts_endpoint: Some(Endpoint::parse("sts.us-east-1.amazonaws.com").expect("a host")),
            service_endpoint: Some(Endpoint::parse("HTTP://10.0.0.1:80").expect("a URL")),
            ..CredentialSettings::default()
        };
        assert_eq!(
            plain_http_endpoints(&config, &https),
            ["http://10.0.0.1"],
            "only the plain one, and the scheme's case does not hide it"
        );
    }

    /// The profile's `endpoint_url` and `services` section, as `load_sdk_config` reads them
    /// (the Rust SDK names the service `cloudwatch-logs` there).
    #[tokio::test]
    async fn endpoints_of_the_profile_are_found_as_the_sdk_finds_them() {
        let files = wodle_testkit::AwsFiles::new(
            "[profile emulator]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:1\n\
             services = local-logs\n\n\
             [services local-logs]\ncloudwatch-logs =\n  endpoint_url = http://127.0.0.1:2\n",
            "[emulator]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = not-used\n",
        );
        let settings = CredentialSettings {
            profile: Some("emulator".to_owned()),
            profile_files: Some(crate::ProfileFilePaths {
                config: files.config_path(),
                credentials: files.credentials_path(),
            }),
            ..CredentialSettings::default()
        };
        let config = crate::load_sdk_config(&settings)
            .await
            .expect("the profile loads");
        assert_eq!(
            endpoint_override(&config, AwsService::Sts, None).as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(
            endpoint_override(&config, AwsService::CloudWatchLogs, None).as_deref(),
            Some("http://127.0.0.1:2")
        );
        assert_eq!(
            plain_http_endpoints(&config, &settings),
            ["http://127.0.0.1:1", "http://127.0.0.1:2"]
        );
    }
}
