//! Temporary `~/.aws` files, and the environment that points a child process at them and at moto.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A temporary directory holding an AWS `config` and/or `credentials` file; removed on drop.
/// A file not given is not written, but its path is still reported (it names a missing file).
#[derive(Debug)]
pub struct AwsFiles {
    dir: TempDir,
}

impl AwsFiles {
    /// Writes both files.
    pub fn new(config: &str, credentials: &str) -> AwsFiles {
        AwsFiles::with(Some(config), Some(credentials))
    }

    /// Writes the files that are `Some`; the others stay absent.
    pub fn with(config: Option<&str>, credentials: Option<&str>) -> AwsFiles {
        let files = AwsFiles {
            dir: tempfile::Builder::new()
                .prefix("wodle-aws-files-")
                .tempdir()
                .expect("create a temporary ~/.aws"),
        };
        for (path, contents) in [
            (files.config_path(), config),
            (files.credentials_path(), credentials),
        ] {
            if let Some(contents) = contents {
                std::fs::write(&path, contents)
                    .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            }
        }
        files
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.dir.path().join("credentials")
    }

    /// The environment for a child process that must see only these files and the emulator
    /// at `endpoint_url`: see [`ChildEnv`].
    pub fn child_env(&self, endpoint_url: &str) -> ChildEnv {
        ChildEnv::hermetic()
            .set("AWS_CONFIG_FILE", self.config_path())
            .set("AWS_SHARED_CREDENTIALS_FILE", self.credentials_path())
            .set("AWS_ENDPOINT_URL", endpoint_url)
    }
}

/// Environment changes for a child process: variables to remove, then variables to set.
///
/// [`ChildEnv::hermetic`] removes every `AWS_*` variable of the test process (credentials,
/// profile, region, role, endpoint and container settings alike: any of them would let the
/// developer's or CI's AWS setup leak into the test) and disables the instance-metadata
/// credentials lookup, which would otherwise reach for 169.254.169.254.
#[derive(Clone, Debug, Default)]
pub struct ChildEnv {
    pub remove: Vec<OsString>,
    pub set: Vec<(OsString, OsString)>,
}

impl ChildEnv {
    pub fn hermetic() -> ChildEnv {
        let remove = std::env::vars_os()
            .map(|(name, _)| name)
            .filter(|name| name.to_string_lossy().starts_with("AWS_"))
            .collect();
        ChildEnv {
            remove,
            set: Vec::new(),
        }
        .set("AWS_EC2_METADATA_DISABLED", "true")
    }

    /// Adds (or replaces) a variable to set.
    pub fn set(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> ChildEnv {
        let name = name.into();
        self.set.retain(|(existing, _)| *existing != name);
        self.set.push((name, value.into()));
        self
    }

    /// Drops a variable from those to set and removes it from the child's environment.
    pub fn unset(mut self, name: impl Into<OsString>) -> ChildEnv {
        let name = name.into();
        self.set.retain(|(existing, _)| *existing != name);
        self.remove.push(name);
        self
    }

    /// Applies the changes to `command` (a `tokio::process::Command` can be made from it).
    pub fn apply<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        for name in &self.remove {
            command.env_remove(name);
        }
        for (name, value) in &self.set {
            command.env(name, value);
        }
        command
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_the_files_given() {
        let both = AwsFiles::new("[default]\nregion = us-east-1\n", "[default]\n");
        assert_eq!(
            std::fs::read_to_string(both.config_path()).expect("config"),
            "[default]\nregion = us-east-1\n"
        );
        assert!(both.credentials_path().is_file());

        let no_config = AwsFiles::with(None, Some("[p]\n"));
        assert!(!no_config.config_path().exists());
        assert!(no_config.credentials_path().is_file());
    }

    #[test]
    fn child_env_points_at_the_files_and_the_endpoint_and_nothing_else() {
        let files = AwsFiles::new("", "");
        let env = files.child_env("http://127.0.0.1:9");
        // Starting from an empty environment, `env` prints exactly what was set.
        let mut command = Command::new("env");
        command.env_clear();
        env.apply(&mut command);
        let output = command.output().expect("run env");
        let printed = String::from_utf8(output.stdout).expect("utf-8");
        let mut lines: Vec<&str> = printed.lines().collect();
        lines.sort_unstable();
        assert_eq!(
            lines,
            [
                format!("AWS_CONFIG_FILE={}", files.config_path().display()),
                "AWS_EC2_METADATA_DISABLED=true".to_owned(),
                "AWS_ENDPOINT_URL=http://127.0.0.1:9".to_owned(),
                format!(
                    "AWS_SHARED_CREDENTIALS_FILE={}",
                    files.credentials_path().display()
                ),
            ]
        );
    }

    #[test]
    fn hermetic_env_removes_every_aws_variable_of_the_test_process() {
        let removed: Vec<String> = std::env::vars_os()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .filter(|name| name.starts_with("AWS_"))
            .collect();
        let env = ChildEnv::hermetic();
        for name in removed {
            assert!(env.remove.iter().any(|r| *r == *name), "{name} is removed");
        }
        let env = env.set("X", "1").set("X", "2").unset("AWS_REGION");
        assert_eq!(env.set.iter().filter(|(n, _)| n == "X").count(), 1);
        assert!(env.set.iter().all(|(n, _)| n != "AWS_REGION"));
        assert!(env.remove.iter().any(|n| n == "AWS_REGION"));
    }
}
