//! Credentials AWS rejects are a typed error before any collection, naming the access key
//! id and never the secret. moto checks keys and signatures as IAM does when started with
//! `INITIAL_NO_AUTH_ACTION_COUNT=0`, and knows no key that IAM did not issue.

use wodle_credentials::{
    AwsErrorKind, CredentialSettings, CredentialsError, Endpoint, RoleSettings, StaticKeys,
    aws_error_kind, caller_identity, load_sdk_config, logs_client, sdk_error_kind,
    service_error_code,
};
use wodle_testkit::MotoServer;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn moto_checking_credentials() -> MotoServer {
    MotoServer::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")])
}

fn unknown_keys(moto: &MotoServer) -> CredentialSettings {
    let endpoint = Some(Endpoint::parse(&moto.endpoint_url()).expect("moto's URL"));
    CredentialSettings {
        static_keys: Some(StaticKeys::new("AKIDUNKNOWN", SECRET)),
        region: Some("us-east-1".to_owned()),
        sts_endpoint: endpoint.clone(),
        service_endpoint: endpoint,
        ..CredentialSettings::default()
    }
}

fn assert_no_secret(error: &CredentialsError) {
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(SECRET), "{shown}");
}

#[tokio::test]
async fn an_unknown_access_key_fails_get_caller_identity_with_a_typed_error() {
    let moto = moto_checking_credentials();
    let settings = unknown_keys(&moto);
    let config = load_sdk_config(&settings)
        .await
        .expect("static keys are not checked while loading");
    let error = caller_identity(&config, settings.sts_endpoint.as_ref())
        .await
        .expect_err("moto does not know the key");
    match &error {
        CredentialsError::InvalidCredentials {
            access_key_id,
            code,
            message,
        } => {
            assert_eq!(access_key_id.as_deref(), Some("AKIDUNKNOWN"));
            assert_eq!(code, "InvalidClientTokenId");
            assert!(!message.is_empty());
        }
        other => panic!("expected InvalidCredentials, got {other:?}"),
    }
    let shown = error.to_string();
    assert!(
        shown.starts_with("Invalid credentials to access AWS service: InvalidClientTokenId"),
        "{shown}"
    );
    assert!(shown.contains("AKIDUNKNOWN"), "{shown}");
    assert_no_secret(&error);
}

#[tokio::test]
async fn an_unknown_access_key_cannot_assume_a_role_and_loading_says_why() {
    let moto = moto_checking_credentials();
    let settings = CredentialSettings {
        role: Some(RoleSettings::new(
            "arn:aws:iam::111122223333:role/wazuh-reader",
        )),
        ..unknown_keys(&moto)
    };
    let error = load_sdk_config(&settings)
        .await
        .expect_err("AssumeRole is refused");
    assert!(
        matches!(&error, CredentialsError::InvalidCredentials { access_key_id, code, .. }
            if access_key_id.as_deref() == Some("AKIDUNKNOWN") && code == "InvalidClientTokenId"),
        "{error:?}"
    );
    assert_no_secret(&error);
}

#[tokio::test]
async fn other_crates_classify_service_errors_with_aws_error_kind() {
    let moto = moto_checking_credentials();
    let settings = unknown_keys(&moto);
    let config = load_sdk_config(&settings).await.expect("static keys");
    let error = logs_client(&config, settings.service_endpoint.as_ref())
        .describe_log_groups()
        .send()
        .await
        .expect_err("moto does not know the key");
    let (code, message) = service_error_code(&error).expect("AWS's code and message");
    assert_eq!(code, "InvalidClientTokenId");
    assert_eq!(
        aws_error_kind(&code, &message),
        AwsErrorKind::InvalidCredentials
    );
    assert_eq!(sdk_error_kind(&error), AwsErrorKind::InvalidCredentials);
}
