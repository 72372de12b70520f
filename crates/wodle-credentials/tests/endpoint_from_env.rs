//! `AWS_ENDPOINT_URL` reaches every client when no endpoint is configured, and a configured
//! `service_endpoint` still wins over it.
//!
//! The only test in this binary, because it sets a process environment variable.

use wodle_credentials::{
    CredentialSettings, Endpoint, StaticKeys, caller_identity, load_sdk_config, logs_client,
};
use wodle_testkit::{MOTO_DEFAULT_ACCOUNT_ID, MotoServer};

#[test]
fn aws_endpoint_url_is_honoured_when_no_endpoint_is_configured() {
    let from_env = MotoServer::start();
    let from_setting = MotoServer::start();
    #[allow(unsafe_code)]
    // SAFETY: this is the only test in its binary and no runtime exists yet, so no other
    // thread of this process reads or writes the environment while it changes.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", from_env.endpoint_url());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        from_env
            .seeder("us-west-2")
            .create_log_group("via-env")
            .await;
        from_setting
            .seeder("us-west-2")
            .create_log_group("via-setting")
            .await;

        let settings = CredentialSettings {
            static_keys: Some(StaticKeys::new("AKIDENV", "env-secret")),
            region: Some("us-west-2".to_owned()),
            ..CredentialSettings::default()
        };
        let config = load_sdk_config(&settings).await.expect("static keys");
        assert_eq!(
            config.endpoint_url(),
            Some(from_env.endpoint_url().as_str())
        );

        let group_names = |client: aws_sdk_cloudwatchlogs::Client| async move {
            client
                .describe_log_groups()
                .send()
                .await
                .expect("DescribeLogGroups")
                .log_groups()
                .iter()
                .filter_map(|group| group.log_group_name().map(str::to_owned))
                .collect::<Vec<_>>()
        };
        assert_eq!(group_names(logs_client(&config, None)).await, ["via-env"]);
        let setting = Endpoint::parse(&from_setting.endpoint_url()).expect("moto's URL");
        assert_eq!(
            group_names(logs_client(&config, Some(&setting))).await,
            ["via-setting"]
        );

        let identity = caller_identity(&config, None)
            .await
            .expect("STS through AWS_ENDPOINT_URL");
        assert_eq!(identity.account, MOTO_DEFAULT_ACCOUNT_ID);
    });
}
