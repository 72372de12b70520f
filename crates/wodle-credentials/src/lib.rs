//! Resolves AWS credentials, role, region and endpoints into an SDK configuration.
