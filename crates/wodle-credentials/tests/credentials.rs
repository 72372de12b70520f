//! Credential resolution against moto: profiles, static keys, roles, and the failures the
//! binary must report precisely. Everything points at loopback; nothing reaches AWS.

use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use aws_config::retry::RetryMode;
use wodle_credentials::{
    CredentialSettings, CredentialsError, DEFAULT_MAX_ATTEMPTS, Endpoint, ProfileFilePaths,
    RoleSettings, StaticKeys, caller_identity, load_sdk_config, logs_client,
};
use wodle_testkit::{AwsFiles, MOTO_DEFAULT_ACCOUNT_ID, MotoServer};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const ROLE_ACCOUNT: &str = "111122223333";

fn profile_files(files: &AwsFiles) -> Option<ProfileFilePaths> {
    Some(ProfileFilePaths {
        config: files.config_path(),
        credentials: files.credentials_path(),
    })
}

fn credentials_file(profile: &str) -> String {
    format!("[{profile}]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {SECRET}\n")
}

fn endpoint(moto: &MotoServer) -> Option<Endpoint> {
    Some(Endpoint::parse(&moto.endpoint_url()).expect("moto's URL"))
}

/// A loopback port nothing listens on: calls to it fail at once, never leaving the machine.
fn closed_port_endpoint() -> Endpoint {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("bind")
        .local_addr()
        .expect("port")
        .port();
    Endpoint::parse(&format!("http://127.0.0.1:{port}")).expect("a URL")
}

#[tokio::test]
async fn named_profile_from_explicit_files_calls_sts() {
    let moto = MotoServer::start();
    let files = AwsFiles::new(
        "[profile wazuh]\nregion = eu-west-1\n",
        &credentials_file("wazuh"),
    );
    let settings = CredentialSettings {
        profile: Some("wazuh".to_owned()),
        profile_files: profile_files(&files),
        sts_endpoint: endpoint(&moto),
        ..CredentialSettings::default()
    };
    let config = load_sdk_config(&settings)
        .await
        .expect("the profile resolves");
    assert_eq!(
        config.region().map(|r| r.as_ref()),
        Some("eu-west-1"),
        "the region comes from the profile"
    );
    let identity = caller_identity(&config, settings.sts_endpoint.as_ref())
        .await
        .expect("GetCallerIdentity");
    assert_eq!(identity.account, MOTO_DEFAULT_ACCOUNT_ID);
}

#[tokio::test]
async fn profile_only_in_the_credentials_file_is_found_even_with_a_config_file() {
    let files = AwsFiles::new(
        "[profile other]\nregion = eu-west-1\n",
        &credentials_file("keys-only"),
    );
    let settings = CredentialSettings {
        profile: Some("keys-only".to_owned()),
        region: Some("us-east-1".to_owned()),
        profile_files: profile_files(&files),
        ..CredentialSettings::default()
    };
    load_sdk_config(&settings)
        .await
        .expect("a profile of the credentials file exists");
}

#[tokio::test]
async fn static_keys_win_over_the_profile() {
    let moto = MotoServer::start();
    let files = AwsFiles::new(
        "[profile wazuh]\nregion = ap-south-1\n",
        "[wazuh]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = other\n",
    );
    let settings = CredentialSettings {
        profile: Some("wazuh".to_owned()),
        static_keys: Some(StaticKeys::new("AKIDSTATIC", SECRET)),
        profile_files: profile_files(&files),
        sts_endpoint: endpoint(&moto),
        ..CredentialSettings::default()
    };
    let config = load_sdk_config(&settings).await.expect("static keys");
    let provider = config.credentials_provider().expect("a provider");
    let credentials =
        aws_credential_types::provider::ProvideCredentials::provide_credentials(&provider)
            .await
            .expect("credentials");
    assert_eq!(credentials.access_key_id(), "AKIDSTATIC");
    assert_eq!(
        config.region().map(|r| r.as_ref()),
        Some("ap-south-1"),
        "the profile still supplies the region"
    );
    let identity = caller_identity(&config, settings.sts_endpoint.as_ref())
        .await
        .expect("GetCallerIdentity");
    assert_eq!(identity.account, MOTO_DEFAULT_ACCOUNT_ID);
}

#[tokio::test]
async fn role_in_another_account_is_assumed_and_used_for_every_call() {
    let moto = MotoServer::start();
    let seeder = moto.seeder("us-east-1");
    seeder.create_log_group("base-account-group").await;

    let mut role = RoleSettings::new(format!("arn:aws:iam::{ROLE_ACCOUNT}:role/wazuh-reader"));
    role.duration = Some(Duration::from_secs(900));
    role.external_id = Some("wazuh-external-id".to_owned());
    let settings = CredentialSettings {
        static_keys: Some(StaticKeys::new("AKIDBASE", SECRET)),
        role: Some(role),
        region: Some("us-east-1".to_owned()),
        sts_endpoint: endpoint(&moto),
        service_endpoint: endpoint(&moto),
        ..CredentialSettings::default()
    };
    let config = load_sdk_config(&settings).await.expect("AssumeRole");

    let identity = caller_identity(&config, settings.sts_endpoint.as_ref())
        .await
        .expect("GetCallerIdentity");
    assert_eq!(identity.account, ROLE_ACCOUNT, "{identity:?}");
    assert!(
        identity
            .arn
            .ends_with(":assumed-role/wazuh-reader/WazuhLogParsing"),
        "the session is named WazuhLogParsing: {identity:?}"
    );

    let groups = logs_client(&config, settings.service_endpoint.as_ref())
        .describe_log_groups()
        .send()
        .await
        .expect("DescribeLogGroups as the role");
    assert!(
        groups.log_groups().is_empty(),
        "the role's account does not see the base account's group: {groups:?}"
    );
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_is_a_typed_error_without_the_secret() {
    let files = AwsFiles::new(
        "[profile wazuh]\nmax_attempts = 1\n",
        &credentials_file("wazuh"),
    );
    let settings = CredentialSettings {
        profile: Some("wazuh".to_owned()),
        role: Some(RoleSettings::new(
            "arn:aws:iam::111122223333:role/unreachable",
        )),
        region: Some("us-east-1".to_owned()),
        sts_endpoint: Some(closed_port_endpoint()),
        profile_files: profile_files(&files),
        ..CredentialSettings::default()
    };
    let error = load_sdk_config(&settings)
        .await
        .expect_err("STS is unreachable");
    assert!(
        matches!(&error, CredentialsError::AssumeRole { role_arn, .. } if role_arn.ends_with("role/unreachable")),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("role/unreachable"), "{message}");
    assert!(!message.contains(SECRET) && !format!("{error:?}").contains(SECRET));
}

#[tokio::test]
async fn missing_profile_without_a_config_file() {
    let files = AwsFiles::with(None, Some(&credentials_file("other")));
    let settings = CredentialSettings {
        profile: Some("absent".to_owned()),
        profile_files: profile_files(&files),
        ..CredentialSettings::default()
    };
    let error = load_sdk_config(&settings)
        .await
        .expect_err("no such profile");
    assert!(
        matches!(&error, CredentialsError::ProfileNotFound { profile } if profile == "absent"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "The config profile (absent) could not be found"
    );
}

#[tokio::test]
async fn missing_profile_with_a_config_file() {
    let files = AwsFiles::new(
        "[profile other]\nregion = us-east-1\n",
        &credentials_file("other"),
    );
    let settings = CredentialSettings {
        profile: Some("absent".to_owned()),
        profile_files: profile_files(&files),
        ..CredentialSettings::default()
    };
    let error = load_sdk_config(&settings)
        .await
        .expect_err("no such profile");
    assert!(
        matches!(&error, CredentialsError::ProfileNotInConfigFile { profile, config_file }
            if profile == "absent" && *config_file == files.config_path()),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "No profile named: 'profile absent' was found in the user config file"
    );
}

#[tokio::test]
async fn profile_without_credentials_is_no_credentials() {
    let files = AwsFiles::new("[profile region-only]\nregion = us-east-1\n", "");
    let settings = CredentialSettings {
        profile: Some("region-only".to_owned()),
        profile_files: profile_files(&files),
        ..CredentialSettings::default()
    };
    let error = load_sdk_config(&settings).await.expect_err("no keys");
    assert!(
        matches!(error, CredentialsError::NoCredentials),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "Unable to locate credentials");
}

#[tokio::test]
async fn unparsable_profile_file_is_a_typed_error() {
    let files = AwsFiles::new("region = us-east-1 before any section\n", "");
    let settings = CredentialSettings {
        profile_files: profile_files(&files),
        static_keys: Some(StaticKeys::new("AKID", SECRET)),
        ..CredentialSettings::default()
    };
    let error = load_sdk_config(&settings).await.expect_err("parse error");
    assert!(
        matches!(error, CredentialsError::ProfileFiles { .. }),
        "{error:?}"
    );
}

async fn retry_for(config_file: &str) -> Result<(u32, RetryMode), CredentialsError> {
    let files = AwsFiles::new(config_file, &credentials_file("default"));
    let settings = CredentialSettings {
        region: Some("us-east-1".to_owned()),
        profile: Some("default".to_owned()),
        profile_files: profile_files(&files),
        ..CredentialSettings::default()
    };
    let config = load_sdk_config(&settings).await?;
    let retry = config.retry_config().expect("a retry config");
    Ok((retry.max_attempts(), retry.mode()))
}

#[tokio::test]
async fn retries_come_from_the_profile_else_ten_standard_attempts() {
    assert_eq!(
        retry_for("[default]\n").await.expect("no settings"),
        (DEFAULT_MAX_ATTEMPTS, RetryMode::Standard)
    );
    assert_eq!(
        retry_for("[default]\nmax_attempts = 4\nretry_mode = adaptive\n")
            .await
            .expect("both settings"),
        (4, RetryMode::Adaptive)
    );
    assert_eq!(
        retry_for("[default]\nretry_mode = legacy\n")
            .await
            .expect("boto's legacy mode"),
        (DEFAULT_MAX_ATTEMPTS, RetryMode::Standard)
    );
    assert_eq!(
        retry_for("[default]\nmax_attempts = 2\n")
            .await
            .expect("attempts only"),
        (2, RetryMode::Standard)
    );
    for bad in [
        "max_attempts = 0",
        "max_attempts = many",
        "retry_mode = eager",
    ] {
        let error = retry_for(&format!("[default]\n{bad}\n"))
            .await
            .expect_err(bad);
        assert!(
            matches!(error, CredentialsError::InvalidRetrySetting { .. }),
            "{bad}: {error:?}"
        );
    }
}

#[test]
fn debug_output_never_shows_the_secret() {
    let settings = CredentialSettings {
        static_keys: Some(StaticKeys::new("AKIDVISIBLE", SECRET)),
        role: Some(RoleSettings::new("arn:aws:iam::123456789012:role/r")),
        ..CredentialSettings::default()
    };
    let debug = format!("{settings:?} {settings:#?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(
        debug.contains("AKIDVISIBLE"),
        "the key id helps debugging: {debug}"
    );
}

#[test]
fn role_settings_default_to_the_reference_session_name() {
    let role = RoleSettings::new("arn:aws:iam::123456789012:role/r");
    assert_eq!(role.session_name, "WazuhLogParsing");
    assert_eq!((role.duration, role.external_id), (None, None));
}
