//! The harness end to end: events seeded into moto through the test kit come back, exactly,
//! through an SDK configuration that wodle-credentials built from a temporary profile.

use wodle_credentials::{CredentialSettings, ProfileFilePaths, load_sdk_config, logs_client};
use wodle_testkit::{AwsFiles, MotoServer, now_millis};

#[tokio::test]
async fn seeded_events_read_back_through_a_profile_pointed_at_moto() {
    let moto = MotoServer::start();
    let seeder = moto.seeder("eu-central-1");
    seeder.create_log_group("smoke-group").await;
    seeder
        .create_log_stream("smoke-group", "smoke-stream")
        .await;
    let start = now_millis() - 60_000;
    let seeded: Vec<(i64, String)> = (0..25)
        .map(|i| (start + i, format!("event {i}: GET /index.html 200")))
        .collect();
    seeder
        .put_events("smoke-group", "smoke-stream", &seeded)
        .await;

    let files = AwsFiles::new(
        &format!(
            "[profile smoke]\nregion = eu-central-1\nendpoint_url = {}\n",
            moto.endpoint_url()
        ),
        "[smoke]\naws_access_key_id = AKIDSMOKE\naws_secret_access_key = smoke-secret\n",
    );
    let settings = CredentialSettings {
        profile: Some("smoke".to_owned()),
        profile_files: Some(ProfileFilePaths {
            config: files.config_path(),
            credentials: files.credentials_path(),
        }),
        ..CredentialSettings::default()
    };
    let config = load_sdk_config(&settings).await.expect("the smoke profile");

    let page = logs_client(&config, None)
        .get_log_events()
        .log_group_name("smoke-group")
        .log_stream_name("smoke-stream")
        .start_from_head(true)
        .send()
        .await
        .expect("GetLogEvents");
    let read: Vec<(i64, String)> = page
        .events()
        .iter()
        .map(|event| {
            (
                event.timestamp().expect("a timestamp"),
                event.message().expect("a message").to_owned(),
            )
        })
        .collect();
    assert_eq!(read, seeded);
}
