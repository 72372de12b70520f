//! End-to-end tests of `wodle-aws check-config`: the shipped examples and every
//! fixture under tests/fixtures/config get the right verdict, and each invalid
//! fixture's message names the tag its `<!-- expect: TAG -->` comment names.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check_config(file: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wodle-aws"))
        .args(extra)
        .arg("check-config")
        .arg(file)
        .env_remove("WAZUH_HOME")
        .env_remove("RUST_LOG")
        .output()
        .expect("the wodle-aws binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn conf_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "conf")
                && path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(prefix))
        })
        .collect();
    files.sort();
    files
}

/// The tag an invalid fixture's first comment promises the error will name.
fn expected_tag(file: &Path) -> String {
    let content = std::fs::read_to_string(file).expect("fixture is readable");
    let start = content
        .find("<!-- expect:")
        .unwrap_or_else(|| panic!("{} has no <!-- expect: TAG --> comment", file.display()));
    let rest = &content[start + "<!-- expect:".len()..];
    let end = rest.find("-->").expect("the expect comment is closed");
    rest[..end].trim().to_owned()
}

#[test]
fn the_shipped_examples_are_valid() {
    let examples = conf_files(&workspace().join("config"), "");
    assert!(examples.len() >= 2, "examples found: {examples:?}");
    for example in examples {
        let output = check_config(&example, &[]);
        let (out, err) = (text(&output.stdout), text(&output.stderr));
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}:\n{out}\n{err}",
            example.display()
        );
        assert!(out.contains("cloudwatchlogs service (line "), "{out}");
        assert!(
            out.ends_with(&format!("{}: valid\n", example.display())),
            "{out}"
        );
        assert!(!err.contains("ERROR:"), "{err}");
    }
}

#[test]
fn the_manager_example_shows_what_would_run_and_what_is_ignored() {
    let output = check_config(&workspace().join("config/ossec-manager-example.conf"), &[]);
    let (out, err) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("aws-s3 wodle (line "), "{out}");
    assert!(out.contains("    log groups: "), "{out}");
    assert!(out.contains("ignored: service type=\"inspector\""), "{out}");
    assert!(out.contains("ignored: bucket type=\"cloudtrail\""), "{out}");
    // One warning per ignored block, naming it.
    assert!(err.contains("WARNING: "), "{err}");
    assert!(err.contains("inspector"), "{err}");
}

#[test]
fn every_invalid_fixture_is_rejected_naming_its_tag() {
    let fixtures = conf_files(&workspace().join("tests/fixtures/config"), "invalid-");
    assert!(fixtures.len() >= 10, "fixtures found: {fixtures:?}");
    for fixture in fixtures {
        let tag = expected_tag(&fixture);
        let output = check_config(&fixture, &[]);
        let (out, err) = (text(&output.stdout), text(&output.stderr));
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}:\n{out}\n{err}",
            fixture.display()
        );
        let error_lines: Vec<&str> = err
            .lines()
            .filter(|line| line.starts_with("ERROR: "))
            .collect();
        assert!(
            error_lines.iter().any(|line| line.contains(&tag)),
            "{}: no ERROR line names '{tag}':\n{err}",
            fixture.display()
        );
        assert!(
            error_lines
                .iter()
                .all(|line| line.contains(&fixture.display().to_string())),
            "{}: every error names the file:\n{err}",
            fixture.display()
        );
        assert!(!out.contains(": valid"), "{out}");
    }
}

#[test]
fn every_valid_fixture_is_accepted() {
    let fixtures = conf_files(&workspace().join("tests/fixtures/config"), "valid-");
    assert!(!fixtures.is_empty());
    for fixture in fixtures {
        let output = check_config(&fixture, &[]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}:\n{}\n{}",
            fixture.display(),
            text(&output.stdout),
            text(&output.stderr)
        );
    }
}

#[test]
fn an_extension_tag_beside_other_ossec_sections_is_warned_about() {
    let manager = std::fs::read_to_string(workspace().join("config/ossec-manager-example.conf"))
        .expect("the manager example is readable");
    let with_extension = manager.replacen(
        "<service type=\"cloudwatchlogs\">",
        "<service type=\"cloudwatchlogs\">\n      <idle_stream_lag>30m</idle_stream_lag>",
        1,
    );
    assert_ne!(
        manager, with_extension,
        "the example has a cloudwatchlogs service"
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("ossec.conf");
    std::fs::write(&file, with_extension).expect("write the file");
    let output = check_config(&file, &[]);
    let (out, err) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("idle stream lag: 30m"), "{out}");
    let warning = err
        .lines()
        .find(|line| line.starts_with("WARNING: ") && line.contains("idle_stream_lag"))
        .unwrap_or_else(|| panic!("no warning about idle_stream_lag:\n{err}"));
    assert!(warning.contains("modulesd"), "{warning}");
}

#[test]
fn secrets_never_appear_in_the_report() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("aws.conf");
    std::fs::write(
        &file,
        r#"<wodle name="aws-s3">
  <service type="cloudwatchlogs">
    <access_key>AKIAEXAMPLEKEY</access_key>
    <secret_key>wJalrXUtnFEMI-super-secret</secret_key>
    <aws_log_groups>g</aws_log_groups>
  </service>
</wodle>
"#,
    )
    .expect("write the file");
    let output = check_config(&file, &["--debug", "3"]);
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(all.contains("AKIAEXAMPLEKEY"), "{all}");
    assert!(
        all.contains("access_key"),
        "the deprecation warning names the tag: {all}"
    );
    assert!(!all.contains("wJalrXUtnFEMI-super-secret"), "{all}");
}

#[test]
fn paths_follow_wazuh_home() {
    let output = check_config(
        &workspace().join("config/ossec-aws-cloudwatch.conf"),
        &["--wazuh-home", "/opt/wazuh"],
    );
    let out = text(&output.stdout);
    assert!(
        out.contains("Events go to: /opt/wazuh/queue/sockets/queue"),
        "{out}"
    );
    assert!(
        out.contains("Checkpoints in: /opt/wazuh/wodles/aws/aws_services.db"),
        "{out}"
    );
}

#[test]
fn a_missing_file_is_reported_by_name() {
    let output = check_config(Path::new("/nonexistent/ossec.conf"), &[]);
    assert_eq!(output.status.code(), Some(1));
    let err = text(&output.stderr);
    assert!(
        err.starts_with("ERROR: cannot read /nonexistent/ossec.conf: "),
        "{err}"
    );
}

#[test]
fn a_file_without_an_aws_s3_wodle_is_invalid() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("ossec.conf");
    std::fs::write(
        &file,
        "<ossec_config><global><logall>no</logall></global></ossec_config>\n",
    )
    .expect("write the file");
    let output = check_config(&file, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("aws-s3"));
}

#[test]
fn run_refuses_a_missing_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_wodle-aws"))
        .args(["run", "--config", "/nonexistent/ossec.conf"])
        .env_remove("RUST_LOG")
        .output()
        .expect("the wodle-aws binary runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("/nonexistent/ossec.conf"));
}

#[test]
fn installed_in_place_of_the_reference_the_home_is_derived_from_the_path() {
    let home = tempfile::tempdir().expect("a temp dir");
    let installed = home.path().join("wodles/aws/aws-s3");
    std::fs::create_dir_all(installed.parent().expect("a parent")).expect("create wodles/aws");
    std::fs::copy(env!("CARGO_BIN_EXE_wodle-aws"), &installed).expect("install the binary");
    let output = Command::new(&installed)
        .arg("check-config")
        .arg(workspace().join("config/ossec-aws-cloudwatch.conf"))
        .env_remove("WAZUH_HOME")
        .output()
        .expect("the installed binary runs");
    let out = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{out}");
    let home = home.path().display();
    assert!(out.contains(&format!("Wazuh home: {home}\n")), "{out}");
    assert!(
        out.contains(&format!("Events go to: {home}/queue/sockets/queue\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Checkpoints in: {home}/wodles/aws/aws_services.db\n"
        )),
        "{out}"
    );
}
