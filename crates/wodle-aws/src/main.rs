//! wodle-aws: collects AWS CloudWatch Logs for Wazuh.
fn main() {}
