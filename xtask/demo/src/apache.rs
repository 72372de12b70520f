//! The sample data: an hour of Apache access logs from two web servers, in the combined log
//! format that Wazuh's `web-accesslog` decoder and its web attack rules read.

use time::OffsetDateTime;
use time::macros::format_description;

/// The log group the demo creates, one stream per web server.
pub const LOG_GROUP: &str = "apache-access";
pub const REGION: &str = "us-east-1";
pub const STREAMS: [&str; 2] = ["web-1", "web-2"];

/// How far apart consecutive sample requests are, so the whole sample spans the last hour.
const SPACING_MS: i64 = 2 * 60 * 1000 + 50 * 1000;

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
const SQLMAP: &str = "sqlmap/1.8.4#stable (https://sqlmap.org)";
const NIKTO: &str = "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000562)";

/// One request as Apache logs it; the time comes from where it sits in [`SAMPLE`].
#[derive(Clone, Copy, Debug)]
pub struct Request {
    pub stream: &'static str,
    pub client: &'static str,
    pub method: &'static str,
    pub target: &'static str,
    pub status: u16,
    /// `None` logs as `-` (no body, as for a 304).
    pub bytes: Option<u32>,
    pub referer: &'static str,
    pub user_agent: &'static str,
}

#[allow(clippy::too_many_arguments)] // one call per table row reads best
const fn request(
    stream: &'static str,
    client: &'static str,
    method: &'static str,
    target: &'static str,
    status: u16,
    bytes: Option<u32>,
    referer: &'static str,
    user_agent: &'static str,
) -> Request {
    Request {
        stream,
        client,
        method,
        target,
        status,
        bytes,
        referer,
        user_agent,
    }
}

/// Ordinary traffic with the things a SOC wants to see among it: a 404, 500s, an sqlmap
/// SQL injection scan, a path traversal, a Nikto XSS probe and a password-guessing run
/// against /wp-login.php. Addresses are from the documentation ranges (RFC 5737).
#[rustfmt::skip]
pub const SAMPLE: [Request; 20] = [
    request("web-1", "198.51.100.23", "GET", "/", 200, Some(5120), "-", CHROME),
    request("web-2", "198.51.100.61", "GET", "/blog/", 200, Some(18230), "https://duckduckgo.com/", FIREFOX),
    request("web-1", "198.51.100.23", "GET", "/css/site.css", 200, Some(1843), "https://www.example.com/", CHROME),
    request("web-1", "198.51.100.23", "GET", "/img/logo.png", 304, None, "https://www.example.com/", CHROME),
    request("web-2", "198.51.100.61", "GET", "/blog/2024/05/hello-world/", 200, Some(12877), "https://blog.example.com/blog/", FIREFOX),
    request("web-1", "203.0.113.50", "GET", "/favicon.ico", 404, Some(209), "-", FIREFOX),
    request("web-2", "192.0.2.14", "GET", "/wp-login.php", 200, Some(4520), "-", FIREFOX),
    request("web-2", "192.0.2.14", "POST", "/wp-login.php", 200, Some(4780), "https://blog.example.com/wp-login.php", FIREFOX),
    request("web-1", "192.0.2.77", "GET", "/products.php?id=1%27%20OR%20%271%27%3D%271", 500, Some(612), "-", SQLMAP),
    request("web-2", "192.0.2.14", "POST", "/wp-login.php", 200, Some(4780), "https://blog.example.com/wp-login.php", FIREFOX),
    request("web-1", "192.0.2.77", "GET", "/products.php?id=1%20UNION%20ALL%20SELECT%20NULL%2CCONCAT%280x71%2Cuser%28%29%29--%20-", 200, Some(4410), "-", SQLMAP),
    request("web-2", "192.0.2.14", "POST", "/wp-login.php", 302, Some(0), "https://blog.example.com/wp-login.php", FIREFOX),
    request("web-1", "203.0.113.9", "GET", "/../../../../etc/passwd", 400, Some(226), "-", "curl/8.5.0"),
    request("web-2", "203.0.113.120", "GET", "/blog/?s=%3Cscript%3Ealert%281%29%3C%2Fscript%3E", 200, Some(9120), "-", NIKTO),
    request("web-1", "198.51.100.42", "GET", "/products.php?id=7", 200, Some(3968), "https://www.example.com/", SAFARI),
    request("web-2", "203.0.113.88", "POST", "/blog/xmlrpc.php", 405, Some(42), "-", "Go-http-client/1.1"),
    request("web-1", "198.51.100.42", "POST", "/api/cart", 201, Some(97), "https://www.example.com/products.php?id=7", SAFARI),
    request("web-1", "198.51.100.42", "GET", "/checkout", 500, Some(531), "https://www.example.com/cart", SAFARI),
    request("web-2", "198.51.100.61", "GET", "/blog/feed/", 200, Some(20412), "-", FIREFOX),
    request("web-1", "203.0.113.9", "GET", "/.env", 404, Some(196), "-", "Mozilla/5.0 zgrab/0.x"),
];

/// One log event to put: which stream, when (epoch ms) and the raw line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleEvent {
    pub stream: &'static str,
    pub timestamp: i64,
    pub message: String,
}

/// The sample as events ending just before `now` (epoch ms), in time order, one
/// [`SPACING_MS`] apart; each line's `[time]` is its event's timestamp.
pub fn sample_events(now: i64) -> Vec<SampleEvent> {
    let count = i64::try_from(SAMPLE.len()).unwrap_or(i64::MAX);
    SAMPLE
        .iter()
        .zip(0..)
        .map(|(request, index)| {
            let timestamp = now - (count - index) * SPACING_MS;
            SampleEvent {
                stream: request.stream,
                timestamp,
                message: combined_log_line(request, timestamp),
            }
        })
        .collect()
}

/// Apache's combined log format:
/// `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`, with the time in UTC.
pub fn combined_log_line(request: &Request, timestamp: i64) -> String {
    let bytes = request
        .bytes
        .map_or_else(|| "-".to_owned(), |bytes| bytes.to_string());
    format!(
        "{} - - [{}] \"{} {} HTTP/1.1\" {} {} \"{}\" \"{}\"",
        request.client,
        apache_time(timestamp),
        request.method,
        request.target,
        request.status,
        bytes,
        request.referer,
        request.user_agent
    )
}

/// `%t` without the brackets: `26/Nov/2025:16:58:03 +0000`.
fn apache_time(timestamp: i64) -> String {
    let format =
        format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(timestamp) * 1_000_000)
        .ok()
        .and_then(|time| time.format(format).ok())
        .unwrap_or_else(|| format!("@{timestamp}ms"))
}

/// The day of `timestamp` (epoch ms, UTC) as `--only_logs_after` takes it: `2025-NOV-26`.
pub fn only_logs_after(timestamp: i64) -> String {
    let format = format_description!("[year]-[month repr:short]-[day]");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(timestamp) * 1_000_000)
        .ok()
        .and_then(|time| time.format(format).ok())
        .map_or_else(|| "1970-JAN-01".to_owned(), |date| date.to_uppercase())
}

/// The events of `stream`, in time order.
pub fn events_of<'a>(events: &'a [SampleEvent], stream: &str) -> Vec<&'a SampleEvent> {
    events
        .iter()
        .filter(|event| event.stream == stream)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-11-26 16:58:03.250 UTC.
    const NOW: i64 = 1_764_176_283_250;

    #[test]
    fn a_line_is_in_the_combined_log_format() {
        let request = request(
            "web-1",
            "203.0.113.50",
            "GET",
            "/favicon.ico",
            404,
            Some(209),
            "-",
            "curl/8.5.0",
        );
        assert_eq!(
            combined_log_line(&request, NOW),
            "203.0.113.50 - - [26/Nov/2025:16:58:03 +0000] \"GET /favicon.ico HTTP/1.1\" 404 209 \"-\" \"curl/8.5.0\""
        );
        let not_modified = Request {
            bytes: None,
            status: 304,
            ..request
        };
        assert!(
            combined_log_line(&not_modified, NOW).contains("\" 304 - \""),
            "no body logs as -"
        );
    }

    #[test]
    fn the_sample_spans_the_last_hour_in_time_order() {
        let events = sample_events(NOW);
        assert_eq!(events.len(), 20);
        assert!(
            events
                .windows(2)
                .all(|pair| pair[0].timestamp < pair[1].timestamp)
        );
        let first = events.first().unwrap().timestamp;
        let last = events.last().unwrap().timestamp;
        assert!(
            last < NOW && NOW - first <= 60 * 60 * 1000,
            "{first}..{last}"
        );
        assert_eq!(events_of(&events, "web-1").len(), 11);
        assert_eq!(events_of(&events, "web-2").len(), 9);
        assert!(events.iter().all(|event| STREAMS.contains(&event.stream)));
    }

    #[test]
    fn only_logs_after_names_the_utc_day() {
        assert_eq!(only_logs_after(NOW), "2025-NOV-26");
        assert_eq!(only_logs_after(1_764_115_200_000 - 1), "2025-NOV-25");
    }

    #[test]
    fn each_line_carries_its_own_event_time() {
        for event in sample_events(NOW) {
            let time = apache_time(event.timestamp);
            assert!(event.message.contains(&format!("[{time}]")), "{event:?}");
        }
    }

    #[test]
    fn the_sample_holds_what_the_demo_promises() {
        let lines: Vec<String> = sample_events(NOW).into_iter().map(|e| e.message).collect();
        let any = |needle: &str| lines.iter().any(|line| line.contains(needle));
        assert!(any("HTTP/1.1\" 404 "));
        assert!(any("HTTP/1.1\" 500 "));
        assert!(any("\"sqlmap/"));
        assert!(any("\"POST /wp-login.php HTTP/1.1\""));
        let unique: std::collections::HashSet<&String> = lines.iter().collect();
        assert_eq!(
            unique.len(),
            lines.len(),
            "lines are unique, so each can be traced"
        );
    }
}
