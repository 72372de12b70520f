//! What can go wrong, and when: faults and the rules that arm them.

use std::time::Duration;

/// What the proxy does instead of (or to) a plain forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400 `ThrottlingException` ("Rate exceeded"), as AWS throttles.
    Throttle,
    /// This HTTP status (500, 503, ...) with a `ServiceUnavailableException` body.
    ServerError(u16),
    /// Closes the connection without answering.
    ResetBeforeResponse,
    /// Forwards, sends the status, the headers (with the full `Content-Length`) and half the
    /// body, then closes the connection.
    ResetMidBody,
    /// Holds the request this long without answering (longer than the client's attempt
    /// timeout), then closes the connection. Nothing is forwarded.
    Stall(Duration),
    /// Waits this long, then forwards.
    Slow(Duration),
    /// GetLogEvents only: answers an empty page whose tokens are minted by the proxy. When the
    /// client sends a minted token back, the request is forwarded with the token of the
    /// request that got the empty page instead (or none, if it had none), so nothing is
    /// skipped: an empty page before the end, as AWS sends them.
    EmptyPage,
    /// GetLogEvents carrying a `nextToken` only: HTTP 400 `InvalidParameterException`
    /// ([`crate::INVALID_TOKEN_MESSAGE`]), as AWS answers an expired or unknown token.
    RejectToken,
    /// GetLogEvents only: deletes the requested stream upstream (DeleteLogStream), then
    /// forwards, so the client meets the `ResourceNotFoundException` of a stream deleted
    /// mid-read.
    DeleteStream,
    /// GetLogEvents only: deletes the requested stream's log group upstream
    /// (DeleteLogGroup), then forwards.
    DeleteGroup,
    /// The endpoint vanishes: stops listening and closes every connection, this one
    /// included, as [`crate::FaultProxy::vanish`] does.
    Vanish,
}

impl Fault {
    /// Whether this fault can be applied to a request of `operation`, which carries a
    /// `nextToken` or not.
    pub(crate) fn applies_to(&self, operation: &str, has_token: bool) -> bool {
        match self {
            Fault::EmptyPage | Fault::DeleteStream | Fault::DeleteGroup => {
                operation == "GetLogEvents"
            }
            Fault::RejectToken => operation == "GetLogEvents" && has_token,
            _ => true,
        }
    }
}

/// When a fault fires: on CloudWatch Logs requests of one operation (or any), optionally of
/// one stream, after letting `skip` of them pass, on the next `times` of them.
///
/// Rules apply in the order they were added; a request is given to the first rule that
/// matches it and has budget left. `skip` counts the matching requests that reached this
/// rule (those an earlier rule took do not count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// `GetLogEvents`, `DescribeLogStreams`, ...; `None` for every CloudWatch Logs operation.
    pub operation: Option<&'static str>,
    /// Only requests naming this `logStreamName`.
    pub stream: Option<String>,
    /// Matching requests let through before the fault fires.
    pub skip: usize,
    /// Matching requests the fault then fires on.
    pub times: usize,
    pub fault: Fault,
}

impl FaultRule {
    /// `fault` on the next request of `operation` (e.g. `"GetLogEvents"`).
    pub fn on(operation: &'static str, fault: Fault) -> FaultRule {
        FaultRule {
            operation: Some(operation),
            stream: None,
            skip: 0,
            times: 1,
            fault,
        }
    }

    /// `fault` on the next CloudWatch Logs request, whatever its operation.
    pub fn any(fault: Fault) -> FaultRule {
        FaultRule {
            operation: None,
            stream: None,
            skip: 0,
            times: 1,
            fault,
        }
    }

    /// Lets `count` matching requests pass first.
    pub fn skip(self, count: usize) -> FaultRule {
        FaultRule {
            skip: count,
            ..self
        }
    }

    /// Fires on `count` matching requests (default 1).
    pub fn times(self, count: usize) -> FaultRule {
        FaultRule {
            times: count,
            ..self
        }
    }

    /// Matches only requests naming `stream` as their `logStreamName`.
    pub fn stream(self, stream: impl Into<String>) -> FaultRule {
        FaultRule {
            stream: Some(stream.into()),
            ..self
        }
    }
}

/// A rule with its counters.
#[derive(Debug)]
pub(crate) struct Armed {
    rule: FaultRule,
    passed: usize,
    fired: usize,
}

/// What a request looks like to the rules.
#[derive(Debug)]
pub(crate) struct RequestFacts<'r> {
    pub operation: &'r str,
    pub stream: Option<&'r str>,
    pub has_token: bool,
}

/// The armed rules, in order.
#[derive(Debug, Default)]
pub(crate) struct RuleBook {
    rules: Vec<Armed>,
}

impl RuleBook {
    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push(Armed {
            rule,
            passed: 0,
            fired: 0,
        });
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault to apply to a CloudWatch Logs request, if any, counting it against the rule
    /// that takes it.
    pub fn fault_for(&mut self, request: &RequestFacts<'_>) -> Option<Fault> {
        for armed in &mut self.rules {
            let rule = &armed.rule;
            let matches = rule.operation.is_none_or(|op| op == request.operation)
                && rule
                    .stream
                    .as_deref()
                    .is_none_or(|stream| Some(stream) == request.stream)
                && rule.fault.applies_to(request.operation, request.has_token);
            if !matches || armed.fired >= rule.times {
                continue;
            }
            if armed.passed < rule.skip {
                armed.passed += 1;
                continue;
            }
            armed.fired += 1;
            return Some(rule.fault.clone());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(stream: &str, has_token: bool) -> RequestFacts<'_> {
        RequestFacts {
            operation: "GetLogEvents",
            stream: Some(stream),
            has_token,
        }
    }

    #[test]
    fn a_rule_skips_then_fires_its_budget_then_rests() {
        let mut book = RuleBook::default();
        book.add(
            FaultRule::on("GetLogEvents", Fault::Throttle)
                .skip(1)
                .times(2),
        );
        let fired: Vec<bool> = (0..5)
            .map(|_| book.fault_for(&get("s", false)).is_some())
            .collect();
        assert_eq!(fired, [false, true, true, false, false]);
    }

    #[test]
    fn rules_apply_in_order_and_filter_by_operation_and_stream() {
        let mut book = RuleBook::default();
        book.add(FaultRule::on("GetLogEvents", Fault::Throttle).stream("b"));
        book.add(FaultRule::any(Fault::ServerError(503)).times(10));
        let describe = RequestFacts {
            operation: "DescribeLogStreams",
            stream: None,
            has_token: false,
        };
        assert_eq!(book.fault_for(&describe), Some(Fault::ServerError(503)));
        assert_eq!(book.fault_for(&get("b", false)), Some(Fault::Throttle));
        assert_eq!(
            book.fault_for(&get("b", false)),
            Some(Fault::ServerError(503))
        );
    }

    #[test]
    fn a_token_rejection_waits_for_a_request_with_a_token() {
        let mut book = RuleBook::default();
        book.add(FaultRule::on("GetLogEvents", Fault::RejectToken));
        assert_eq!(book.fault_for(&get("s", false)), None);
        assert_eq!(book.fault_for(&get("s", true)), Some(Fault::RejectToken));
        assert_eq!(book.fault_for(&get("s", true)), None);
    }

    #[test]
    fn cleared_rules_fire_no_more() {
        let mut book = RuleBook::default();
        book.add(FaultRule::any(Fault::Throttle).times(usize::MAX));
        book.clear();
        assert_eq!(book.fault_for(&get("s", true)), None);
    }
}
