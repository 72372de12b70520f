use std::fmt;

/// A CloudWatch Logs API that wodle-aws calls, each with its own quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    GetLogEvents,
    DescribeLogStreams,
    DeleteLogStream,
}

impl Api {
    /// Every API, in the order [`Quotas`](crate::Quotas) prints them.
    pub const ALL: [Api; 3] = [
        Api::GetLogEvents,
        Api::DescribeLogStreams,
        Api::DeleteLogStream,
    ];

    /// The API's name as AWS spells it (and as quota strings take it).
    pub const fn name(self) -> &'static str {
        match self {
            Api::GetLogEvents => "GetLogEvents",
            Api::DescribeLogStreams => "DescribeLogStreams",
            Api::DeleteLogStream => "DeleteLogStream",
        }
    }

    /// The API named `name`, in any letter case.
    pub fn from_name(name: &str) -> Option<Api> {
        Api::ALL
            .into_iter()
            .find(|api| api.name().eq_ignore_ascii_case(name))
    }

    pub(crate) const fn index(self) -> usize {
        match self {
            Api::GetLogEvents => 0,
            Api::DescribeLogStreams => 1,
            Api::DeleteLogStream => 2,
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// "GetLogEvents, DescribeLogStreams, DeleteLogStream", for error messages.
pub(crate) fn api_names() -> String {
    Api::ALL.map(Api::name).join(", ")
}
