//! Roles against moto, with STS behind a recording relay so that the tests see every
//! AssumeRole: one AssumeRole serves every region, and the external id reaches STS.

mod support;

use aws_smithy_runtime_api::client::identity::ResolveIdentity;
use wodle_credentials::{
    CredentialSettings, Endpoint, ProfileFilePaths, RoleSettings, StaticKeys, caller_identity,
    for_region, load_sdk_config, logs_client,
};
use wodle_testkit::{AwsFiles, MotoServer};

use support::RecordingProxy;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const ROLE_ACCOUNT: &str = "111122223333";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/wazuh-reader";

fn endpoint(url: &str) -> Option<Endpoint> {
    Some(Endpoint::parse(url).expect("a loopback URL"))
}

async fn group_names(client: aws_sdk_cloudwatchlogs::Client) -> Vec<String> {
    client
        .describe_log_groups()
        .send()
        .await
        .expect("DescribeLogGroups")
        .log_groups()
        .iter()
        .filter_map(|group| group.log_group_name().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn one_assume_role_serves_every_region() {
    let moto = MotoServer::start();
    let sts = RecordingProxy::in_front_of(&moto);
    let settings = CredentialSettings {
        static_keys: Some(StaticKeys::new("AKIDBASE", SECRET)),
        role: Some(RoleSettings::new(ROLE_ARN)),
        region: Some("us-east-1".to_owned()),
        sts_endpoint: endpoint(&sts.url()),
        service_endpoint: endpoint(&moto.endpoint_url()),
        ..CredentialSettings::default()
    };
    let config = load_sdk_config(&settings).await.expect("AssumeRole");
    assert_eq!(sts.count_action("AssumeRole"), 1, "{:?}", sts.seen());

    let ireland = for_region(&config, "eu-west-1");
    let mumbai = for_region(&config, "ap-south-1");
    assert_eq!(ireland.region().map(|r| r.as_ref()), Some("eu-west-1"));
    assert_eq!(mumbai.region().map(|r| r.as_ref()), Some("ap-south-1"));
    let partition = |config: &aws_config::SdkConfig| {
        config
            .credentials_provider()
            .expect("a provider")
            .cache_partition()
    };
    assert_eq!(
        partition(&ireland),
        partition(&config),
        "the same provider, so the same slot of the shared identity cache"
    );
    assert_eq!(partition(&mumbai), partition(&config));

    let service = settings.service_endpoint.as_ref();
    logs_client(&ireland, service)
        .create_log_group()
        .log_group_name("only-in-eu-west-1")
        .send()
        .await
        .expect("CreateLogGroup as the role");
    assert_eq!(
        group_names(logs_client(&ireland, service)).await,
        ["only-in-eu-west-1"]
    );
    assert!(
        group_names(logs_client(&mumbai, service)).await.is_empty(),
        "each configuration reaches its own region"
    );
    assert!(
        group_names(moto.logs_client("eu-west-1")).await.is_empty(),
        "the group is in the role's account, not the test credentials' one"
    );
    for regional in [&ireland, &mumbai] {
        let identity = caller_identity(regional, settings.sts_endpoint.as_ref())
            .await
            .expect("GetCallerIdentity");
        assert_eq!(identity.account, ROLE_ACCOUNT, "{identity:?}");
    }

    assert_eq!(
        sts.count_action("AssumeRole"),
        1,
        "the role is assumed once for all regions: {:?}",
        sts.seen()
    );
    assert_eq!(sts.count_action("GetCallerIdentity"), 2);
}

async fn assume_role_request(files: &AwsFiles, role: RoleSettings) -> String {
    let moto = MotoServer::start();
    let sts = RecordingProxy::in_front_of(&moto);
    let settings = CredentialSettings {
        profile: Some("wazuh".to_owned()),
        profile_files: Some(ProfileFilePaths {
            config: files.config_path(),
            credentials: files.credentials_path(),
        }),
        role: Some(role),
        region: Some("us-east-1".to_owned()),
        sts_endpoint: endpoint(&sts.url()),
        ..CredentialSettings::default()
    };
    let config = load_sdk_config(&settings).await.expect("AssumeRole");
    let identity = caller_identity(&config, settings.sts_endpoint.as_ref())
        .await
        .expect("GetCallerIdentity");
    assert_eq!(identity.account, ROLE_ACCOUNT);
    let assume_role: Vec<_> = sts
        .seen()
        .into_iter()
        .filter(|seen| seen.body.contains("Action=AssumeRole&"))
        .collect();
    assert_eq!(assume_role.len(), 1, "{assume_role:?}");
    assume_role[0].body.clone()
}

fn profile_with_external_id() -> AwsFiles {
    AwsFiles::new(
        "[profile wazuh]\nexternal_id = id-from-profile\n",
        &format!("[wazuh]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {SECRET}\n"),
    )
}

#[tokio::test]
async fn the_profile_supplies_the_external_id_when_the_role_has_none() {
    let files = profile_with_external_id();
    let body = assume_role_request(&files, RoleSettings::new(ROLE_ARN)).await;
    assert!(body.contains("ExternalId=id-from-profile"), "{body}");
    assert!(body.contains("RoleSessionName=WazuhLogParsing"), "{body}");
}

#[tokio::test]
async fn the_role_s_own_external_id_wins_over_the_profile_s() {
    let files = profile_with_external_id();
    let mut role = RoleSettings::new(ROLE_ARN);
    role.external_id = Some("id-from-settings".to_owned());
    let body = assume_role_request(&files, role).await;
    assert!(body.contains("ExternalId=id-from-settings"), "{body}");
    assert!(!body.contains("id-from-profile"), "{body}");
}

#[tokio::test]
async fn without_any_external_id_none_is_sent() {
    let files = AwsFiles::new(
        "[profile wazuh]\nregion = us-east-1\n",
        &format!("[wazuh]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {SECRET}\n"),
    );
    let body = assume_role_request(&files, RoleSettings::new(ROLE_ARN)).await;
    assert!(!body.contains("ExternalId"), "{body}");
}
