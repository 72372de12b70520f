//! `CredentialSettings::attempt_timeout` bounds an attempt against an endpoint
//! that accepts the connection and never answers: the call ends in a timeout
//! error instead of waiting on the socket forever.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::error::SdkError;
use wodle_credentials::{CredentialSettings, ProfileFilePaths, load_sdk_config, logs_client};
use wodle_testkit::AwsFiles;

#[tokio::test]
async fn an_endpoint_that_never_answers_ends_in_a_timeout_after_the_attempt_bound() {
    // Accepts connections and keeps them open without reading or answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            connections.push(connection);
        }
    });

    let files = AwsFiles::new(
        &format!(
            "[profile mute]\nregion = eu-west-1\nmax_attempts = 1\nendpoint_url = {endpoint}\n"
        ),
        "[mute]\naws_access_key_id = AKIDMUTE\naws_secret_access_key = mute-secret\n",
    );
    let settings = CredentialSettings {
        profile: Some("mute".to_owned()),
        profile_files: Some(ProfileFilePaths {
            config: files.config_path(),
            credentials: files.credentials_path(),
        }),
        attempt_timeout: Some(Duration::from_secs(1)),
        ..CredentialSettings::default()
    };
    let config = load_sdk_config(&settings).await.expect("static keys load");

    let error = logs_client(&config, None)
        .describe_log_groups()
        .send()
        .await
        .expect_err("nobody answers");
    held.abort();
    assert!(
        matches!(error, SdkError::TimeoutError(_)),
        "expected the attempt timeout, got {error:?}"
    );
}
