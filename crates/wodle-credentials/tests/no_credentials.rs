//! With no source of credentials at all, loading fails with the reference's "Unable to locate
//! credentials" instead of a late, vague error.
//!
//! The only test in this binary, because it clears the process's AWS environment.

use wodle_credentials::{CredentialSettings, CredentialsError, ProfileFilePaths, load_sdk_config};
use wodle_testkit::AwsFiles;

#[test]
fn no_source_of_credentials_is_a_typed_error() {
    let aws_variables: Vec<_> = std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| name.to_string_lossy().starts_with("AWS_"))
        .collect();
    #[allow(unsafe_code)]
    // SAFETY: this is the only test in its binary and no runtime exists yet, so no other
    // thread of this process reads or writes the environment while it changes.
    unsafe {
        for name in aws_variables {
            std::env::remove_var(name);
        }
        // The default chain's last resort would otherwise ask 169.254.169.254.
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let files = AwsFiles::new("[default]\nregion = us-east-1\n", "");
    let settings = CredentialSettings {
        profile_files: Some(ProfileFilePaths {
            config: files.config_path(),
            credentials: files.credentials_path(),
        }),
        ..CredentialSettings::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let error = runtime
        .block_on(load_sdk_config(&settings))
        .expect_err("nothing provides credentials");
    assert!(
        matches!(error, CredentialsError::NoCredentials),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "Unable to locate credentials");
}
