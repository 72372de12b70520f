use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use crate::{Api, QuotaParseError};

/// Requests per second allowed per API, for one account and region.
///
/// [`Default`] follows AWS's documented default quotas, per account and
/// Region. Where the figure AWS documents today could not be confirmed, the
/// lower of the figures AWS has published is used: the quota is shared with
/// every other client of the account, so headroom costs little, while going
/// over costs throttled requests and retries.
///
/// - GetLogEvents: 10. AWS's quotas page has given 10 TPS and, more recently,
///   25 TPS (the project's notes: "10–25"); it cannot be raised on request.
/// - DescribeLogStreams: 25. The API reference shipped in
///   aws-sdk-cloudwatchlogs 1.162 says "This operation has a limit of 25
///   transactions per second"; older pages said 5.
/// - DeleteLogStream: 5, the quotas page's figure (adjustable on request).
///
/// Accounts with raised quotas, or sharing their quota with busy tools, set
/// their own with [`Quotas::with`] or a string such as
/// `GetLogEvents=25,DescribeLogStreams=5` ([`FromStr`]); APIs left out keep
/// their default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    per_second: [NonZeroU32; Api::ALL.len()],
}

impl Quotas {
    /// AWS's default quotas; see the type's documentation for the figures.
    pub const AWS_DEFAULT: Quotas = Quotas {
        per_second: [per_second(10), per_second(25), per_second(5)],
    };

    /// Requests per second allowed for `api`.
    pub fn get(&self, api: Api) -> NonZeroU32 {
        self.per_second[api.index()]
    }

    /// These quotas with `api` allowed `per_second` requests a second.
    #[must_use]
    pub fn with(mut self, api: Api, per_second: NonZeroU32) -> Self {
        self.per_second[api.index()] = per_second;
        self
    }
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas::AWS_DEFAULT
    }
}

/// `GetLogEvents=10,DescribeLogStreams=25,DeleteLogStream=5`, which
/// [`FromStr`] reads back.
impl fmt::Display for Quotas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, api) in Api::ALL.into_iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{api}={}", self.get(api))?;
        }
        Ok(())
    }
}

/// Reads `API=N` items separated by commas, over the defaults: the APIs not
/// named keep AWS's default. API names take any letter case; spaces around
/// items and `=` are ignored. A blank string is the defaults.
impl FromStr for Quotas {
    type Err = QuotaParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let mut quotas = Quotas::default();
        if input.trim().is_empty() {
            return Ok(quotas);
        }
        let mut given = [false; Api::ALL.len()];
        for item in input.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(QuotaParseError::EmptyItem {
                    input: input.to_owned(),
                });
            }
            let (name, rate) = item
                .split_once('=')
                .map(|(name, rate)| (name.trim(), rate.trim()))
                .ok_or_else(|| QuotaParseError::MissingRate {
                    item: item.to_owned(),
                })?;
            let api = Api::from_name(name).ok_or_else(|| QuotaParseError::UnknownApi {
                item: item.to_owned(),
                name: name.to_owned(),
            })?;
            // u32's parser takes a leading '+'; a quota is digits only.
            let rate = rate
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| rate.parse::<NonZeroU32>().ok())
                .flatten()
                .ok_or_else(|| QuotaParseError::InvalidRate {
                    item: item.to_owned(),
                    rate: rate.to_owned(),
                })?;
            if std::mem::replace(&mut given[api.index()], true) {
                return Err(QuotaParseError::Repeated {
                    api,
                    input: input.to_owned(),
                });
            }
            quotas = quotas.with(api, rate);
        }
        Ok(quotas)
    }
}

const fn per_second(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => panic!("a quota allows at least one request a second"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap()
    }

    #[test]
    fn defaults_are_awss_documented_quotas() {
        let q = Quotas::default();
        assert_eq!(q.get(Api::GetLogEvents), n(10));
        assert_eq!(q.get(Api::DescribeLogStreams), n(25));
        assert_eq!(q.get(Api::DeleteLogStream), n(5));
        assert_eq!(q, Quotas::AWS_DEFAULT);
    }

    #[test]
    fn with_sets_one_api_only() {
        let q = Quotas::default().with(Api::DescribeLogStreams, n(3));
        assert_eq!(q.get(Api::DescribeLogStreams), n(3));
        assert_eq!(q.get(Api::GetLogEvents), n(10));
        assert_eq!(q.get(Api::DeleteLogStream), n(5));
    }

    #[test]
    fn parses_items_over_the_defaults() {
        let q: Quotas = "GetLogEvents=20,DescribeLogStreams=5".parse().unwrap();
        assert_eq!(q.get(Api::GetLogEvents), n(20));
        assert_eq!(q.get(Api::DescribeLogStreams), n(5));
        assert_eq!(q.get(Api::DeleteLogStream), n(5));
        let q: Quotas = " getlogevents = 7 , DELETELOGSTREAM=1 ".parse().unwrap();
        assert_eq!(q.get(Api::GetLogEvents), n(7));
        assert_eq!(q.get(Api::DeleteLogStream), n(1));
        assert_eq!(q.get(Api::DescribeLogStreams), n(25));
    }

    #[test]
    fn a_blank_string_is_the_defaults() {
        assert_eq!("".parse::<Quotas>().unwrap(), Quotas::default());
        assert_eq!("  ".parse::<Quotas>().unwrap(), Quotas::default());
    }

    #[test]
    fn display_reads_back() {
        let q = Quotas::default().with(Api::GetLogEvents, n(25));
        assert_eq!(
            q.to_string(),
            "GetLogEvents=25,DescribeLogStreams=25,DeleteLogStream=5"
        );
        assert_eq!(q.to_string().parse::<Quotas>().unwrap(), q);
    }

    #[test]
    fn an_unknown_api_is_named_with_the_accepted_names() {
        let err = "GetLogEvents=10,FilterLogEvents=5"
            .parse::<Quotas>()
            .unwrap_err();
        assert_eq!(
            err,
            QuotaParseError::UnknownApi {
                item: "FilterLogEvents=5".to_owned(),
                name: "FilterLogEvents".to_owned()
            }
        );
        assert_eq!(
            err.to_string(),
            "unknown API 'FilterLogEvents' in 'FilterLogEvents=5'; the APIs are GetLogEvents, \
             DescribeLogStreams, DeleteLogStream"
        );
    }

    #[test]
    fn an_item_without_a_rate_is_refused() {
        let err = "GetLogEvents".parse::<Quotas>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "'GetLogEvents' is not API=requests-per-second (for example GetLogEvents=10); the \
             APIs are GetLogEvents, DescribeLogStreams, DeleteLogStream"
        );
        let err = "GetLogEvents:10".parse::<Quotas>().unwrap_err();
        assert!(matches!(err, QuotaParseError::MissingRate { item } if item == "GetLogEvents:10"));
    }

    #[test]
    fn a_rate_must_be_a_whole_number_from_one() {
        for (input, rate) in [
            ("GetLogEvents=0", "0"),
            ("GetLogEvents=-1", "-1"),
            ("GetLogEvents=+5", "+5"),
            ("GetLogEvents=2.5", "2.5"),
            ("GetLogEvents=ten", "ten"),
            ("GetLogEvents=", ""),
            ("GetLogEvents=4294967296", "4294967296"),
        ] {
            let err = input.parse::<Quotas>().unwrap_err();
            assert_eq!(
                err,
                QuotaParseError::InvalidRate {
                    item: input.to_owned(),
                    rate: rate.to_owned()
                },
                "{input}"
            );
        }
        assert_eq!(
            "DeleteLogStream=0"
                .parse::<Quotas>()
                .unwrap_err()
                .to_string(),
            "'0' in 'DeleteLogStream=0' is not a whole number of requests per second from 1 to \
             4294967295"
        );
        assert_eq!(
            "GetLogEvents=4294967295"
                .parse::<Quotas>()
                .unwrap()
                .get(Api::GetLogEvents),
            n(u32::MAX)
        );
    }

    #[test]
    fn an_api_given_twice_is_refused() {
        let err = "GetLogEvents=5,getlogevents=6"
            .parse::<Quotas>()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "GetLogEvents is given more than once in the quotas 'GetLogEvents=5,getlogevents=6'"
        );
    }

    #[test]
    fn empty_items_are_refused() {
        for input in [
            "GetLogEvents=5,,DeleteLogStream=1",
            "GetLogEvents=5,",
            ",GetLogEvents=5",
        ] {
            let err = input.parse::<Quotas>().unwrap_err();
            assert_eq!(
                err,
                QuotaParseError::EmptyItem {
                    input: input.to_owned()
                },
                "{input}"
            );
        }
    }
}
