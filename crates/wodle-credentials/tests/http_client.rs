//! The HTTP client every call uses: proxies from the settings (with `no_proxy` bypassing
//! them), and a CA bundle that makes a private CA trusted, checked before any call.
//! The proxy is our own recording one on loopback, moto sits behind it, and TLS is a
//! loopback front for moto with a certificate of a throwaway CA.

mod support;

use std::path::{Path, PathBuf};

use wodle_credentials::{
    CredentialSettings, CredentialsError, Endpoint, HttpSettings, ProfileFilePaths, RoleSettings,
    StaticKeys, caller_identity, load_sdk_config, logs_client,
};
use wodle_testkit::{AwsFiles, MOTO_DEFAULT_ACCOUNT_ID, MotoServer};

use support::{RecordingProxy, TestCa, TlsFront};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn endpoint(url: &str) -> Option<Endpoint> {
    Some(Endpoint::parse(url).expect("a loopback URL"))
}

/// Static keys, and both endpoints at `url`.
fn settings_for(url: &str, http: HttpSettings) -> CredentialSettings {
    CredentialSettings {
        static_keys: Some(StaticKeys::new("AKIDPROXY", SECRET)),
        region: Some("us-east-1".to_owned()),
        sts_endpoint: endpoint(url),
        service_endpoint: endpoint(url),
        http,
        ..CredentialSettings::default()
    }
}

async fn identity_and_groups(settings: &CredentialSettings) {
    let config = load_sdk_config(settings).await.expect("the configuration");
    let identity = caller_identity(&config, settings.sts_endpoint.as_ref())
        .await
        .expect("GetCallerIdentity");
    assert!(!identity.account.is_empty());
    logs_client(&config, settings.service_endpoint.as_ref())
        .describe_log_groups()
        .send()
        .await
        .expect("DescribeLogGroups");
}

#[tokio::test]
async fn http_proxy_carries_every_call_including_assume_role() {
    let moto = MotoServer::start();
    let proxy = RecordingProxy::in_front_of(&moto);
    let mut settings = settings_for(
        &moto.endpoint_url(),
        HttpSettings {
            http_proxy: Some(proxy.url()),
            ..HttpSettings::default()
        },
    );
    settings.role = Some(RoleSettings::new(
        "arn:aws:iam::111122223333:role/wazuh-reader",
    ));
    identity_and_groups(&settings).await;

    let seen = proxy.seen();
    assert!(
        seen.iter()
            .all(|request| request.target.starts_with(&moto.endpoint_url())),
        "a forward proxy gets absolute URLs: {seen:?}"
    );
    assert_eq!(proxy.count_action("AssumeRole"), 1, "{seen:?}");
    assert_eq!(proxy.count_action("GetCallerIdentity"), 1, "{seen:?}");
    assert_eq!(
        seen.len(),
        3,
        "DescribeLogGroups went through it too: {seen:?}"
    );
}

#[tokio::test]
async fn no_proxy_bypasses_the_proxy() {
    let moto = MotoServer::start();
    let proxy = RecordingProxy::in_front_of(&moto);
    let settings = settings_for(
        &moto.endpoint_url(),
        HttpSettings {
            http_proxy: Some(proxy.url()),
            https_proxy: Some(proxy.url()),
            no_proxy: Some("localhost, 127.0.0.1".to_owned()),
            ..HttpSettings::default()
        },
    );
    identity_and_groups(&settings).await;
    assert_eq!(proxy.seen(), []);
}

#[tokio::test]
async fn https_proxy_is_not_used_for_plain_http_endpoints() {
    let moto = MotoServer::start();
    let proxy = RecordingProxy::in_front_of(&moto);
    let settings = settings_for(
        &moto.endpoint_url(),
        HttpSettings {
            https_proxy: Some(proxy.url()),
            ..HttpSettings::default()
        },
    );
    identity_and_groups(&settings).await;
    assert_eq!(proxy.seen(), []);
}

#[tokio::test]
async fn an_unusable_proxy_url_is_a_typed_error() {
    let settings = settings_for(
        "http://127.0.0.1:9",
        HttpSettings {
            https_proxy: Some("socks5://user:hunter2@127.0.0.1:1080".to_owned()),
            ..HttpSettings::default()
        },
    );
    let error = load_sdk_config(&settings).await.expect_err("no SOCKS");
    assert!(
        matches!(
            &error,
            CredentialsError::InvalidProxy {
                variable: "https_proxy",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

/// A CA on disk and a TLS endpoint for moto with a certificate it signed; the profile
/// allows one attempt, so that a refused handshake fails at once.
struct TlsSetup {
    moto: MotoServer,
    front: TlsFront,
    _dir: tempfile::TempDir,
    ca_file: PathBuf,
}

impl TlsSetup {
    fn new() -> TlsSetup {
        let moto = MotoServer::start();
        let ca = TestCa::generate();
        let front = TlsFront::in_front_of(&moto, &ca);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ca_file = dir.path().join("corporate-ca.pem");
        std::fs::write(&ca_file, &ca.ca_pem).expect("write the CA");
        TlsSetup {
            moto,
            front,
            _dir: dir,
            ca_file,
        }
    }

    fn files(&self, profile_extra: &str) -> AwsFiles {
        AwsFiles::new(
            &format!("[profile wazuh]\nmax_attempts = 1\n{profile_extra}"),
            &format!("[wazuh]\naws_access_key_id = AKIDTLS\naws_secret_access_key = {SECRET}\n"),
        )
    }

    fn settings(&self, files: &AwsFiles, http: HttpSettings) -> CredentialSettings {
        CredentialSettings {
            profile: Some("wazuh".to_owned()),
            profile_files: Some(ProfileFilePaths {
                config: files.config_path(),
                credentials: files.credentials_path(),
            }),
            region: Some("us-east-1".to_owned()),
            sts_endpoint: endpoint(&self.front.url()),
            http,
            ..CredentialSettings::default()
        }
    }
}

async fn identity(settings: &CredentialSettings) -> Result<String, CredentialsError> {
    let config = load_sdk_config(settings).await?;
    Ok(caller_identity(&config, settings.sts_endpoint.as_ref())
        .await?
        .account)
}

#[tokio::test]
async fn a_private_ca_is_trusted_only_with_a_ca_bundle() {
    let tls = TlsSetup::new();
    let files = tls.files("");

    let error = identity(&tls.settings(&files, HttpSettings::default()))
        .await
        .expect_err("the system roots do not know the test CA");
    assert!(
        matches!(error, CredentialsError::CallerIdentity { .. }),
        "{error:?}"
    );

    let with_bundle = HttpSettings {
        ca_bundle: Some(tls.ca_file.clone()),
        ..HttpSettings::default()
    };
    assert_eq!(
        identity(&tls.settings(&files, with_bundle))
            .await
            .expect("AWS_CA_BUNDLE trusts the test CA"),
        MOTO_DEFAULT_ACCOUNT_ID
    );
}

#[tokio::test]
async fn the_profile_s_ca_bundle_applies_when_the_environment_names_none() {
    let tls = TlsSetup::new();
    let files = tls.files(&format!("ca_bundle = {}\n", tls.ca_file.display()));
    assert_eq!(
        identity(&tls.settings(&files, HttpSettings::default()))
            .await
            .expect("the profile's ca_bundle trusts the test CA"),
        MOTO_DEFAULT_ACCOUNT_ID
    );
}

#[tokio::test]
async fn https_proxy_tunnels_tls_calls_with_connect() {
    let tls = TlsSetup::new();
    let proxy = RecordingProxy::in_front_of(&tls.moto);
    let files = tls.files("");
    let http = HttpSettings {
        https_proxy: Some(proxy.url()),
        ca_bundle: Some(tls.ca_file.clone()),
        ..HttpSettings::default()
    };
    assert_eq!(
        identity(&tls.settings(&files, http))
            .await
            .expect("through the tunnel"),
        MOTO_DEFAULT_ACCOUNT_ID
    );
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "CONNECT");
    assert_eq!(seen[0].target, tls.front.address().to_string());
}

fn bundle_error(settings: &CredentialSettings) -> (String, PathBuf, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match runtime.block_on(load_sdk_config(settings)) {
        Err(CredentialsError::InvalidCaBundle {
            origin,
            path,
            reason,
        }) => {
            let shown = CredentialsError::InvalidCaBundle {
                origin: origin.clone(),
                path: path.clone(),
                reason: reason.clone(),
            }
            .to_string();
            assert!(shown.contains(&path.display().to_string()), "{shown}");
            assert!(shown.contains(&origin), "{shown}");
            (origin, path, reason)
        }
        other => panic!("expected InvalidCaBundle, got {other:?}"),
    }
}

#[test]
fn unusable_ca_bundles_are_typed_errors_naming_the_setting_and_the_path() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let write = |name: &str, contents: &str| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).expect("write");
        path
    };
    let cases: [(PathBuf, &str); 5] = [
        (dir.path().join("missing.pem"), "No such file"),
        (write("empty.pem", ""), "no PEM certificate"),
        (write("text.pem", "just some text\n"), "no PEM certificate"),
        (
            write(
                "bad-base64.pem",
                "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            ),
            "not a PEM file",
        ),
        (
            write(
                "not-a-certificate.pem",
                "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
            ),
            "certificate 1 is not valid",
        ),
    ];
    for (path, expected) in &cases {
        let settings = settings_for(
            "http://127.0.0.1:9",
            HttpSettings {
                ca_bundle: Some(path.clone()),
                ..HttpSettings::default()
            },
        );
        let (origin, reported, reason) = bundle_error(&settings);
        assert_eq!(origin, "environment variable AWS_CA_BUNDLE");
        assert_eq!(&reported, path);
        assert!(reason.contains(expected), "{}: {reason}", path.display());
    }

    let files = AwsFiles::new(
        "[profile wazuh]\nca_bundle = /nonexistent/ca.pem\n",
        &format!("[wazuh]\naws_access_key_id = AKID\naws_secret_access_key = {SECRET}\n"),
    );
    let settings = CredentialSettings {
        profile: Some("wazuh".to_owned()),
        profile_files: Some(ProfileFilePaths {
            config: files.config_path(),
            credentials: files.credentials_path(),
        }),
        ..CredentialSettings::default()
    };
    let (origin, path, _) = bundle_error(&settings);
    assert_eq!(origin, "`ca_bundle` of profile wazuh");
    assert_eq!(path, Path::new("/nonexistent/ca.pem"));
}
