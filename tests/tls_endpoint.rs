//! HTTPS end to end: the binary reaches moto through a loopback TLS front whose certificate
//! a throwaway CA signed. With `AWS_CA_BUNDLE` naming that CA it collects (and warns about
//! no plain-http endpoint); without it the handshake is refused and the run fails with the
//! certificate error and exit 12, before any event or database row.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::{Run, World, seed};
use wodle_testkit::{TestCa, TlsFront};

/// moto behind TLS, the CA on disk, and a stream of three recent events.
struct Tls {
    world: World,
    front: TlsFront,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tls {
    async fn new() -> Tls {
        let world = World::new();
        let ca = TestCa::generate();
        let front = TlsFront::in_front_of(&world.moto, &ca);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ca_file = dir.path().join("corporate-ca.pem");
        std::fs::write(&ca_file, &ca.ca_pem).expect("write the CA");
        let seeder = world.moto.seeder("us-east-1");
        seeder.create_log_group("secure").await;
        seeder.create_log_stream("secure", "s1").await;
        let start = world.today().max(world.now - 3_600_000);
        seeder
            .put_events(
                "secure",
                "s1",
                &[
                    (start, "tls #0"),
                    (start + 1, "tls #1"),
                    (start + 2, "tls #2"),
                ],
            )
            .await;
        Tls {
            world,
            front,
            ca_file,
            _dir: dir,
        }
    }

    /// The binary with every AWS call sent to the TLS front; with `bundle`, trusting the CA.
    fn command(&self, args: &[&str], bundle: bool) -> Command {
        let mut command = self.world.command(args);
        command.env("AWS_ENDPOINT_URL", self.front.url());
        // A refused handshake is retried like any connection error; two attempts keep
        // the failing case short and still show it is not a one-off.
        command.env("AWS_MAX_ATTEMPTS", "2");
        if bundle {
            command.env("AWS_CA_BUNDLE", &self.ca_file);
        } else {
            command.env_remove("AWS_CA_BUNDLE");
        }
        command
    }

    fn one_shot(&self, bundle: bool) -> Run {
        Run::of(self.command(
            &seed::one_shot_args("secure", "us-east-1", &["-d", "1"]),
            bundle,
        ))
    }
}

fn assert_no_plain_http_warning(run: &Run) {
    assert!(
        !run.stderr.contains("plain HTTP"),
        "an https endpoint needs no warning\n{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_shot_collects_over_https_with_the_ca_bundle() {
    let tls = Tls::new().await;
    let run = tls.one_shot(true);
    run.expect_code(0);
    assert_no_plain_http_warning(&run);
    assert_eq!(tls.world.wait_received(3), ["tls #0", "tls #1", "tls #2"]);
    assert_eq!(
        tls.world.reference_rows().len(),
        1,
        "the checkpoint is written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_mode_collects_over_https_with_the_ca_bundle() {
    let tls = Tls::new().await;
    let config = tls.world.write_config(
        "ossec.conf",
        "<wodle name=\"aws-s3\">\n  <disabled>no</disabled>\n  <interval>1h</interval>\n  \
         <service type=\"cloudwatchlogs\">\n    <aws_log_groups>secure</aws_log_groups>\n    \
         <regions>us-east-1</regions>\n  </service>\n</wodle>\n",
    );
    let config = config.to_str().expect("a UTF-8 path");
    let run = Run::of(tls.command(&["run", "--config", config, "--once"], true));
    run.expect_code(0);
    assert_no_plain_http_warning(&run);
    assert_eq!(tls.world.wait_received(3), ["tls #0", "tls #1", "tls #2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_ca_bundle_the_certificate_is_not_trusted_and_nothing_is_collected() {
    let tls = Tls::new().await;
    let run = tls.one_shot(false);
    run.expect_code(12);
    assert_no_plain_http_warning(&run);
    let error = run
        .stderr_lines()
        .into_iter()
        .find(|line| line.starts_with("ERROR: "))
        .unwrap_or_else(|| panic!("an ERROR line\n{}", run.stderr))
        .to_owned();
    assert!(
        error.contains("STS GetCallerIdentity failed"),
        "the failing call is named: {error}"
    );
    let lower = error.to_ascii_lowercase();
    assert!(
        lower.contains("certificate") && (lower.contains("unknown") || lower.contains("trust")),
        "the cause is the untrusted certificate: {error}"
    );
    assert!(
        tls.world.received().is_empty(),
        "{:?}",
        tls.world.received()
    );
    assert!(
        !tls.world.database().exists(),
        "credentials are checked before the database is opened, as the reference does"
    );

    // The same front and CA: only the bundle differs.
    tls.one_shot(true).expect_code(0);
    assert_eq!(tls.world.wait_received(3), ["tls #0", "tls #1", "tls #2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_endpoint_flags_get_one_warning_with_debug_and_none_at_level_0() {
    let tls = Tls::new().await;
    let moto = tls.world.moto.endpoint_url();
    let warning = support::plain_http_warning(&moto);
    let one_shot = |debug: &str, sts: &str, env: Option<&str>| {
        let flags = [
            "--sts_endpoint",
            sts,
            "--service_endpoint",
            &moto,
            "--reparse",
            "-d",
            debug,
        ];
        let mut command = tls
            .world
            .command(&seed::one_shot_args("secure", "us-east-1", &flags));
        command.env("AWS_CA_BUNDLE", &tls.ca_file);
        match env {
            Some(url) => command.env("AWS_ENDPOINT_URL", url),
            None => command.env_remove("AWS_ENDPOINT_URL"),
        };
        Run::of(command)
    };
    let count = |run: &Run| run.stderr_lines().iter().filter(|l| **l == warning).count();

    // Both services on moto's plain-http URL: one line for the one endpoint.
    let run = one_shot("1", &moto, None);
    run.expect_code(0);
    assert_eq!(count(&run), 1, "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("plain HTTP").count(),
        1,
        "{}",
        run.stderr
    );

    // The reference's successful one-shot run prints nothing at level 0.
    let run = one_shot("0", &moto, None);
    run.expect_code(0);
    assert_eq!(run.stderr, "", "silent at level 0");

    // STS over https (the flag wins over AWS_ENDPOINT_URL), CloudWatch Logs over http:
    // only the plain one is named.
    let front = tls.front.url();
    let run = one_shot("1", &front, Some(&moto));
    run.expect_code(0);
    assert_eq!(count(&run), 1, "{}", run.stderr);
    assert!(
        !run.stderr.contains(&format!("endpoint {front}")),
        "{}",
        run.stderr
    );
    assert_eq!(tls.world.wait_received(9).len(), 9, "every run collected");
}
