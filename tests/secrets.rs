//! No secret key or session token ever leaves the places the administrator put it.
//!
//! Distinctive canary secrets go everywhere the reference accepts keys: the deprecated
//! `<access_key>`/`<secret_key>` tags of ossec.conf, the deprecated one-shot flags
//! `--access_key/--secret_key`, a profile of the credentials file with a session token, the
//! environment, and a role assumed with them (moto's temporary session tokens all start with
//! [`MOTO_TOKEN_PREFIX`]). The binary runs with them at its highest debug levels, succeeding
//! and failing (moto checking credentials: AWS refuses them), and everything it wrote is
//! searched: stdout, stderr, ossec.log, every file under WAZUH_HOME (database, WAL, lock),
//! `check-config`'s output, the datagrams analysisd received. None may hold a canary, its
//! base64 or URL encoding, a SigV4 signature or a security-token header.
//!
//! The access key id is not a secret: AWS itself logs it (CloudTrail), and our
//! invalid-credentials error names it so that the administrator knows which key AWS refused.
//! It may appear; the test checks that the refusal names it.
//!
//! In `run` mode the keys of the configuration never reach a command line or the
//! environment of any process: the running daemon and every descendant are inspected in
//! `/proc`. (The one-shot command line is the reference's interface, which modulesd builds;
//! README advises profiles or roles instead of keys.)

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use support::{CONFIG, CREDENTIALS, Run, World, seed};
use wodle_testkit::{AwsFiles, MotoServer};

/// The access key id of every canary: it may appear (see the module's doc).
const KEY_ID: &str = "AKIDCANARY0123456789";
/// `/` and `+` as real secret keys have them, so that URL encoding changes them.
const CONF_SECRET: &str = "SECRETKEY/canary+conf-0123456789abcdef";
const FLAG_SECRET: &str = "SECRETKEY/canary+flag-0123456789abcdef";
const FILE_SECRET: &str = "SECRETKEY/canary+file-0123456789abcdef";
const FILE_TOKEN: &str = "SESSIONTOKEN/canary+file-0123456789abcdef//ZXIvYXdz";
const ENV_SECRET: &str = "SECRETKEY/canary+env-0123456789abcdef";
const ENV_TOKEN: &str = "SESSIONTOKEN/canary+env-0123456789abcdef//ZXIvYXdz";
const CANARIES: [&str; 6] = [
    CONF_SECRET,
    FLAG_SECRET,
    FILE_SECRET,
    FILE_TOKEN,
    ENV_SECRET,
    ENV_TOKEN,
];
/// How every session token moto's STS hands out begins (moto/sts/utils.py): the
/// temporary credentials of an assumed role.
const MOTO_TOKEN_PREFIX: &str = "FQoGZXIvYXdzEBYaD";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/canary-reader";
/// The one-shot run through the role, at the debug level that logs the most; the same
/// flags whether AWS accepts the keys or refuses them, so that only the answer differs.
const ROLE_FLAGS: &[&str] = &[
    "--aws_profile",
    "canary",
    "--iam_role_arn",
    ROLE_ARN,
    "-d",
    "3",
];
const GROUP: &str = "canary-group";
/// The deprecated one-shot flags with the canary key, at debug level 3.
const FLAGS: [&str; 6] = [
    "--access_key",
    KEY_ID,
    "--secret_key",
    FLAG_SECRET,
    "-d",
    "3",
];

/// Every form in which a canary would give itself away.
fn forbidden_forms(more: &[String]) -> Vec<(String, String)> {
    let mut forms = Vec::new();
    for canary in CANARIES
        .iter()
        .copied()
        .chain(more.iter().map(String::as_str))
    {
        let bytes = canary.as_bytes();
        forms.push((canary.to_owned(), "verbatim".to_owned()));
        forms.push((
            canary.replace('/', "%2F").replace('+', "%2B"),
            "URL-encoded".to_owned(),
        ));
        forms.push((canary.replace('/', "\\/"), "JSON-escaped".to_owned()));
        forms.push((
            STANDARD.encode(bytes).trim_end_matches('=').to_owned(),
            "base64".to_owned(),
        ));
        forms.push((URL_SAFE_NO_PAD.encode(bytes), "base64url".to_owned()));
        // The distinctive middle alone: a truncated or re-quoted secret.
        if let Some(slash) = canary.find('/') {
            forms.push((
                canary[slash + 1..].to_owned(),
                "its distinctive part".to_owned(),
            ));
        }
    }
    for (marker, what) in [
        (MOTO_TOKEN_PREFIX, "a temporary session token of moto's STS"),
        ("x-amz-security-token", "the session-token header"),
        ("Signature=", "a SigV4 Authorization header"),
        (
            "AWS4-HMAC-SHA256 Credential",
            "a SigV4 Authorization header",
        ),
        (
            "aws_secret_access_key",
            "a credentials file's secret key line",
        ),
    ] {
        forms.push((marker.to_owned(), what.to_owned()));
    }
    forms
}

/// Everything the binary wrote or printed, by where it came from.
#[derive(Default)]
struct Evidence {
    sources: Vec<(String, Vec<u8>)>,
    /// Secrets known only at run time (moto's), searched like the canaries.
    more_secrets: Vec<String>,
}

impl Evidence {
    fn add(&mut self, label: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.sources.push((label.into(), bytes.into()));
    }

    fn add_run(&mut self, label: &str, run: &Run) {
        self.add(format!("{label}: stdout"), run.stdout.clone());
        self.add(format!("{label}: stderr"), run.stderr.clone());
    }

    /// Every file under `dir`, whatever it is (database, WAL, shared memory, lock, logs).
    fn add_tree(&mut self, label: &str, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let kind = std::fs::symlink_metadata(&path)
                .expect("metadata")
                .file_type();
            if kind.is_dir() {
                self.add_tree(label, &path);
            } else if kind.is_file() {
                let bytes =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                self.add(format!("{label}: {}", path.display()), bytes);
            }
        }
    }

    /// Panics naming every source that holds a forbidden form, and how.
    fn assert_clean(&self) {
        let forms = forbidden_forms(&self.more_secrets);
        let mut leaks = Vec::new();
        for (label, bytes) in &self.sources {
            let text = String::from_utf8_lossy(bytes).to_ascii_lowercase();
            for (form, what) in &forms {
                if text.contains(&form.to_ascii_lowercase()) {
                    leaks.push(format!("{label}: {what} ({form})"));
                }
            }
        }
        assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    }
}

/// The credentials files of the tests, plus a profile `canary` with a session token.
fn canary_files() -> AwsFiles {
    AwsFiles::new(
        &format!("{CONFIG}\n[profile canary]\nregion = us-east-1\n"),
        &format!(
            "{CREDENTIALS}\n[canary]\naws_access_key_id = {KEY_ID}\n\
             aws_secret_access_key = {FILE_SECRET}\naws_session_token = {FILE_TOKEN}\n"
        ),
    )
}

/// An ossec.conf holding the deprecated keys, in a directory of its own (not WAZUH_HOME,
/// whose every file must stay clean); `extra` adds tags to the service.
fn keys_config(dir: &Path, schedule: &str, extra: &str) -> PathBuf {
    let path = dir.join("ossec.conf");
    std::fs::write(
        &path,
        format!(
            "<ossec_config>\n<wodle name=\"aws-s3\">\n  <disabled>no</disabled>\n  {schedule}\n  \
             <service type=\"cloudwatchlogs\">\n    <aws_log_groups>{GROUP}</aws_log_groups>\n    \
             <regions>us-east-1</regions>\n    <access_key>{KEY_ID}</access_key>\n    \
             <secret_key>{CONF_SECRET}</secret_key>\n    {extra}\n  </service>\n</wodle>\n\
             </ossec_config>\n"
        ),
    )
    .expect("write ossec.conf");
    path
}

fn one_shot_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    seed::one_shot_args(GROUP, "us-east-1", extra)
}

/// The environment's keys, for the SDK's default chain.
fn with_env_keys(mut command: Command) -> Command {
    command
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", ENV_SECRET)
        .env("AWS_SESSION_TOKEN", ENV_TOKEN)
        // The default chain must not settle for the files' `default` profile first.
        .env_remove("AWS_PROFILE");
    command
}

async fn seed(moto: &MotoServer, now: i64) {
    let seeder = moto.seeder("us-east-1");
    seeder.create_log_group(GROUP).await;
    seeder.create_log_stream(GROUP, "s1").await;
    seeder
        .put_events(GROUP, "s1", &[(now - 60_000, "canary event #0")])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_any_output_file_or_database_at_debug_levels_2_and_3() {
    let mut world = World::new();
    world.aws = canary_files();
    seed(&world.moto, world.now).await;
    let conf_dir = tempfile::tempdir().expect("a temporary directory");
    let mut evidence = Evidence::default();

    // The one-shot mode at debug level 3, from every credential source.
    let debug3 = ["-d", "3"];
    let flags = FLAGS;
    let runs: [(&str, Command); 4] = [
        ("one-shot flags", world.command(&one_shot_args(&flags))),
        (
            "one-shot profile with a session token",
            world.command(&one_shot_args(&["--aws_profile", "canary", "-d", "3"])),
        ),
        (
            "one-shot environment",
            with_env_keys(world.command(&one_shot_args(&debug3))),
        ),
        ("one-shot role", world.command(&one_shot_args(ROLE_FLAGS))),
    ];
    for (label, command) in runs {
        let run = Run::of(command);
        run.expect_code(0);
        evidence.add_run(label, &run);
    }

    // `run` mode: debug 2 from internal_options.conf with ossec.log, then -d 3 with a role.
    std::fs::write(
        world.home.etc_dir().join("internal_options.conf"),
        "wazuh_modules.debug=2\n",
    )
    .expect("write internal_options.conf");
    let config = keys_config(conf_dir.path(), "<interval>1h</interval>", "");
    let config = config.to_str().expect("a UTF-8 path");
    let run = Run::of(world.command(&["run", "--config", config, "--once", "--ossec-log"]));
    run.expect_code(0);
    assert!(
        run.stderr.contains("DEBUG: "),
        "debug level 2 applies:\n{}",
        run.stderr
    );
    evidence.add_run("run --once, internal options debug 2", &run);

    let role_dir = tempfile::tempdir().expect("a temporary directory");
    let role_config = keys_config(
        role_dir.path(),
        "<interval>1h</interval>",
        &format!("<iam_role_arn>{ROLE_ARN}</iam_role_arn>"),
    );
    let role_config = role_config.to_str().expect("a UTF-8 path");
    let run = Run::of(world.command(&["-d", "3", "run", "--config", role_config, "--once"]));
    run.expect_code(0);
    evidence.add_run("run --once -d 3 with a role", &run);

    // check-config, with and without --debug.
    for extra in [&[][..], &["-d", "3"][..]] {
        let mut args = extra.to_vec();
        args.extend(["check-config", config]);
        let run = Run::of(world.command(&args));
        run.expect_code(0);
        evidence.add_run("check-config", &run);
    }

    evidence.add_tree("WAZUH_HOME", world.home.path());
    let labels: Vec<&str> = evidence.sources.iter().map(|(l, _)| l.as_str()).collect();
    assert!(
        labels.len() > 18,
        "every run (8, twice) and file was collected: {labels:#?}"
    );
    for file in ["aws_services.db", "ossec.log"] {
        assert!(
            labels.iter().any(|label| label.ends_with(file)),
            "{file} was searched: {labels:#?}"
        );
    }
    for (index, datagram) in world.analysisd.datagrams().into_iter().enumerate() {
        evidence.add(format!("datagram {index}"), datagram);
    }
    evidence.assert_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_any_output_or_file_when_aws_refuses_the_keys_or_the_calls() {
    let mut world = World::new();
    world.aws = canary_files();
    let conf_dir = tempfile::tempdir().expect("a temporary directory");
    let config = keys_config(conf_dir.path(), "<interval>1h</interval>", "");
    let config = config.to_str().expect("a UTF-8 path");
    let mut evidence = Evidence::default();
    let debug3 = ["-d", "3"];
    let flags = FLAGS;

    // Failing runs: moto checking credentials refuses every canary key.
    let strict = MotoServer::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let on_strict = |mut command: Command| {
        command.env("AWS_ENDPOINT_URL", strict.endpoint_url());
        command.env("AWS_MAX_ATTEMPTS", "2");
        command
    };
    let failing: [(&str, Command); 5] = [
        (
            "refused one-shot flags",
            on_strict(world.command(&one_shot_args(&flags))),
        ),
        (
            "refused one-shot environment",
            on_strict(with_env_keys(world.command(&one_shot_args(&debug3)))),
        ),
        (
            "refused one-shot profile",
            on_strict(world.command(&one_shot_args(&["--aws_profile", "canary", "-d", "3"]))),
        ),
        (
            "refused one-shot role",
            on_strict(world.command(&one_shot_args(ROLE_FLAGS))),
        ),
        (
            "refused run --once -d 3",
            on_strict(world.command(&["-d", "3", "run", "--config", config, "--once"])),
        ),
    ];
    for (label, command) in failing {
        let run = Run::of(command);
        assert_ne!(run.code, Some(0), "{label} must fail:\n{}", run.stderr);
        if label.contains("one-shot") {
            run.expect_code(3);
            assert!(
                run.stderr.contains(&format!("access key id {KEY_ID}")),
                "{label}: the refused key id is named\n{}",
                run.stderr
            );
        }
        evidence.add_run(label, &run);
    }

    // AWS accepting the keys but refusing the calls (AccessDenied): an IAM user without any
    // policy, its keys made by moto itself.
    let denying = MotoServer::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "2")]);
    let (user_key_id, user_secret) = iam_user_without_policies(&denying);
    evidence.more_secrets.push(user_secret.clone());
    let user_flags = [
        "--access_key",
        user_key_id.as_str(),
        "--secret_key",
        user_secret.as_str(),
        "-d",
        "3",
    ];
    let mut with_role = user_flags.to_vec();
    with_role.extend(["--iam_role_arn", ROLE_ARN]);
    for (label, args) in [
        ("denied CloudWatch Logs calls", user_flags.to_vec()),
        ("denied AssumeRole", with_role),
    ] {
        let mut command = world.command(&one_shot_args(&args));
        command.env("AWS_ENDPOINT_URL", denying.endpoint_url());
        command.env("AWS_MAX_ATTEMPTS", "2");
        let run = Run::of(command);
        assert_ne!(run.code, Some(0), "{label} must fail:\n{}", run.stderr);
        // moto answers a denied CloudWatch Logs call with an XML body the SDK cannot
        // classify ("(Unknown)"), so only the failure itself is checked here.
        assert!(
            run.stderr.contains("ERROR: "),
            "{label}: the refusal is reported\n{}",
            run.stderr
        );
        evidence.add_run(label, &run);
    }

    evidence.add_tree("WAZUH_HOME", world.home.path());
    let labels: Vec<&str> = evidence.sources.iter().map(|(l, _)| l.as_str()).collect();
    assert!(
        labels.len() >= 14,
        "every run (7, twice) was collected: {labels:#?}"
    );
    evidence.assert_clean();
}

/// The command line and environment of `pid` and of every process below it.
fn process_tree(pid: u32) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![pid];
    while let Some(pid) = pending.pop() {
        for file in ["cmdline", "environ"] {
            let path = format!("/proc/{pid}/{file}");
            // A child may end between listing and reading.
            if let Ok(bytes) = std::fs::read(&path) {
                found.push((path, bytes));
            }
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks {
            let children = task.expect("a task").path().join("children");
            if let Ok(text) = std::fs::read_to_string(children) {
                pending.extend(
                    text.split_whitespace()
                        .filter_map(|id| id.parse::<u32>().ok()),
                );
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn in_run_mode_the_configured_keys_reach_no_command_line_or_environment() {
    let world = World::new();
    seed(&world.moto, world.now).await;
    let conf_dir = tempfile::tempdir().expect("a temporary directory");
    let config = keys_config(
        conf_dir.path(),
        "<interval>1h</interval>\n  <run_on_start>yes</run_on_start>",
        "",
    );
    let mut daemon = world.spawn(&[
        "-d",
        "3",
        "run",
        "--config",
        config.to_str().expect("a UTF-8 path"),
    ]);
    daemon.wait_for_line("INFO: Fetching logs finished.", 1);
    let processes = process_tree(daemon.pid());
    assert!(
        processes.len() >= 2,
        "the daemon's own /proc entries are read"
    );
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
    assert_eq!(world.wait_received(1), ["canary event #0"]);

    let mut evidence = Evidence::default();
    for (path, bytes) in processes {
        evidence.add(path, bytes);
    }
    evidence.add("run: stderr", daemon.lines().join("\n"));
    evidence.add_tree("WAZUH_HOME", world.home.path());
    evidence.assert_clean();
}

/// The search itself: each form of a canary, planted in a source, is found.
#[test]
fn the_search_finds_every_form_of_a_canary() {
    let planted = [
        format!("ERROR: request failed: secret={CONF_SECRET}"),
        "token=SESSIONTOKEN%2Fcanary%2Benv-0123456789abcdef%2F%2FZXIvYXdz".to_owned(),
        format!("{{\"key\":\"{}\"}}", FILE_SECRET.replace('/', "\\/")),
        STANDARD.encode(FLAG_SECRET),
        URL_SAFE_NO_PAD.encode(ENV_SECRET),
        "authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/logs/aws4_request"
            .to_owned(),
        format!("X-Amz-Security-Token: {MOTO_TOKEN_PREFIX}abc"),
    ];
    for text in planted {
        let mut evidence = Evidence::default();
        evidence.add("clean", "INFO: Module AWS started");
        evidence.add("planted", text.clone());
        let outcome = std::panic::catch_unwind(|| evidence.assert_clean());
        assert!(outcome.is_err(), "not found: {text}");
    }
    let mut clean = Evidence::default();
    clean.add(
        "key id only",
        format!("Invalid credentials (access key id {KEY_ID})"),
    );
    clean.assert_clean();
}

/// An IAM user with access keys and no policy at all, made on a moto started with
/// `INITIAL_NO_AUTH_ACTION_COUNT=2` (these two calls are the ones it lets through unchecked);
/// returns its key id and secret key. Plain HTTP: the tests have no IAM client.
fn iam_user_without_policies(moto: &MotoServer) -> (String, String) {
    use std::io::{Read as _, Write as _};

    let call = |body: &str| -> String {
        let mut stream =
            std::net::TcpStream::connect(("127.0.0.1", moto.port())).expect("connect to moto");
        // moto routes by the credential scope of the Authorization header; it is not checked.
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=AKIDSETUP/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            moto.port(),
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send to moto");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("moto's answer");
        assert!(answer.starts_with("HTTP/1.1 200"), "{body}: {answer}");
        answer
    };
    let element = |xml: &str, name: &str| -> String {
        let start = xml
            .find(&format!("<{name}>"))
            .unwrap_or_else(|| panic!("<{name}> in {xml}"))
            + name.len()
            + 2;
        let end = xml[start..].find('<').expect("the closing tag") + start;
        xml[start..end].to_owned()
    };
    call("Action=CreateUser&UserName=denied&Version=2010-05-08");
    let keys = call("Action=CreateAccessKey&UserName=denied&Version=2010-05-08");
    (
        element(&keys, "AccessKeyId"),
        element(&keys, "SecretAccessKey"),
    )
}
