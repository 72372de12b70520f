use crate::Api;
use crate::api::api_names;

/// Why a quota string such as `GetLogEvents=10,DescribeLogStreams=5` was
/// refused. Each message quotes the item at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuotaParseError {
    /// Two commas with nothing between them, or a comma at either end.
    #[error(
        "empty item in the quotas '{input}': give API=requests-per-second items separated by commas"
    )]
    EmptyItem { input: String },

    /// An item without `=`.
    #[error(
        "'{item}' is not API=requests-per-second (for example GetLogEvents=10); the APIs are {}",
        api_names()
    )]
    MissingRate { item: String },

    /// A name that is not one of [`Api::ALL`].
    #[error("unknown API '{name}' in '{item}'; the APIs are {}", api_names())]
    UnknownApi { item: String, name: String },

    /// A rate that is not a whole number from 1 up.
    #[error(
        "'{rate}' in '{item}' is not a whole number of requests per second from 1 to {}",
        u32::MAX
    )]
    InvalidRate { item: String, rate: String },

    /// The same API twice: which one was meant is unclear.
    #[error("{api} is given more than once in the quotas '{input}'")]
    Repeated { api: Api, input: String },
}
