//! The HTTP side: a hyper 1 server on its own runtime thread, dispatching by operation.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::dataset::Dataset;
use crate::pages::{EventsRequest, InvalidToken, Page, StreamPages, empty_body};
use crate::{ACCOUNT_ID, STREAMS_PER_PAGE};

const LOGS_TARGET_PREFIX: &str = "Logs_20140328.";
const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// A replaying CloudWatch Logs and STS endpoint on `127.0.0.1`; see the crate documentation.
/// Dropping it stops it.
#[derive(Debug)]
pub struct ReplayServer {
    address: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    groups: Vec<Group>,
    /// Built page bodies by (group, stream, first event, end).
    cache: Mutex<PageCache>,
    requests: Mutex<HashMap<String, usize>>,
    first_request: OnceLock<Instant>,
    next_request_id: AtomicU64,
    shutdown: CancellationToken,
}

#[derive(Debug)]
struct Group {
    name: String,
    creation_time: i64,
    /// Sorted by name, as AWS lists them.
    streams: Vec<StreamPages>,
}

#[derive(Debug, Default)]
struct PageCache {
    pages: HashMap<(usize, usize, u64, u64), Bytes>,
    bytes: usize,
    budget: usize,
}

impl PageCache {
    fn keep(&mut self, key: (usize, usize, u64, u64), body: &Bytes) -> bool {
        if self.bytes + body.len() > self.budget {
            return false;
        }
        self.bytes += body.len();
        self.pages.insert(key, body.clone());
        true
    }
}

impl ReplayServer {
    /// Builds the pages a reader from the head asks for (within the dataset's cache budget),
    /// starts serving `dataset` and returns once it listens. Panics if it cannot.
    pub fn start(dataset: Dataset) -> ReplayServer {
        let groups: Vec<Group> = dataset
            .groups
            .iter()
            .map(|group| {
                let mut streams: Vec<StreamPages> = group
                    .streams
                    .iter()
                    .map(|stream| StreamPages::new(stream, dataset.first_timestamp))
                    .collect();
                streams.sort_by(|a, b| a.name.cmp(&b.name));
                Group {
                    name: group.name.clone(),
                    creation_time: dataset.first_timestamp,
                    streams,
                }
            })
            .collect();
        let mut cache = PageCache {
            budget: dataset.page_cache_bytes,
            ..PageCache::default()
        };
        'prebuild: for (group_index, group) in groups.iter().enumerate() {
            for (stream_index, stream) in group.streams.iter().enumerate() {
                let mut start = 0;
                while start < stream.events {
                    let stop = (start + stream.page_events).min(stream.events);
                    let body = stream.body(start, stop);
                    if !cache.keep((group_index, stream_index, start, stop), &body) {
                        break 'prebuild;
                    }
                    start = stop;
                }
            }
        }

        let shared = Arc::new(Shared {
            groups,
            cache: Mutex::new(cache),
            requests: Mutex::new(HashMap::new()),
            first_request: OnceLock::new(),
            next_request_id: AtomicU64::new(1),
            shutdown: CancellationToken::new(),
        });
        let (address, thread) = wodle_testkit::spawn_loopback_server("the replay server", {
            let shared = Arc::clone(&shared);
            move |listener| serve(listener, shared)
        });
        ReplayServer {
            address,
            shared,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL` and SDK clients.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// How many requests of `operation` (`GetLogEvents`, `GetCallerIdentity`, ...) arrived.
    pub fn requests(&self, operation: &str) -> usize {
        lock(&self.shared.requests)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Requests by operation, sorted by name.
    pub fn requests_by_operation(&self) -> Vec<(String, usize)> {
        let mut all: Vec<(String, usize)> = lock(&self.shared.requests)
            .iter()
            .map(|(operation, count)| (operation.clone(), *count))
            .collect();
        all.sort();
        all
    }

    /// When the first request arrived (before it was read whole), if one did.
    pub fn first_request_at(&self) -> Option<Instant> {
        self.shared.first_request.get().copied()
    }

    /// Bytes of page bodies kept built.
    pub fn cached_page_bytes(&self) -> usize {
        lock(&self.shared.cache).bytes
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            // A panic of the server's thread already printed its message.
            let _ = thread.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters and built pages stay consistent even if a holder panicked.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>) {
    let shutdown = shared.shutdown.clone();
    wodle_testkit::accept_until(listener, &shutdown, "the replay server", |stream| {
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn({
                let shared = Arc::clone(&shared);
                move |request| handle(Arc::clone(&shared), request)
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                () = shared.shutdown.cancelled() => {}
            }
        });
    })
    .await;
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    shared.first_request.get_or_init(Instant::now);
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return Ok(shared.respond(
                StatusCode::BAD_REQUEST,
                "text/plain",
                Bytes::from(format!("unreadable body: {e}")),
            ));
        }
    };
    let target = logs_operation(&parts.headers);
    let operation = match target {
        Some(operation) => operation.to_owned(),
        None => query_action(&body).unwrap_or_else(|| "unknown".to_owned()),
    };
    *lock(&shared.requests).entry(operation.clone()).or_default() += 1;
    if target.is_none() {
        return Ok(match operation.as_str() {
            "GetCallerIdentity" => shared.caller_identity(),
            _ => shared.respond(
                StatusCode::BAD_REQUEST,
                "text/xml",
                Bytes::from(format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>\
                     <Message>The replay server does not serve {operation}</Message></Error></ErrorResponse>"
                )),
            ),
        });
    }
    let input: Value = match serde_json::from_slice(&body) {
        Ok(input) => input,
        Err(e) => {
            return Ok(shared.error(
                "SerializationException",
                &format!("the body is not JSON: {e}"),
            ));
        }
    };
    Ok(match operation.as_str() {
        "GetLogEvents" => shared.get_log_events(&input),
        "DescribeLogStreams" => shared.describe_log_streams(&input),
        "DescribeLogGroups" => shared.describe_log_groups(&input),
        _ => shared.error(
            "UnknownOperationException",
            &format!("the replay server does not serve {operation}"),
        ),
    })
}

/// `GetLogEvents` from `X-Amz-Target: Logs_20140328.GetLogEvents`.
fn logs_operation(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-amz-target")
        .and_then(|target| target.to_str().ok())
        .and_then(|target| target.strip_prefix(LOGS_TARGET_PREFIX))
}

/// `Action` of a query-protocol (form) body.
fn query_action(body: &[u8]) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map(str::to_owned)
}

impl Shared {
    fn respond(
        &self,
        status: StatusCode,
        content_type: &'static str,
        body: Bytes,
    ) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now())) {
            headers.insert(header::DATE, date);
        }
        let id = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(id) = HeaderValue::from_str(&format!("00000000-0000-4000-8000-{id:012x}")) {
            headers.insert("x-amzn-requestid", id);
        }
        response
    }

    fn json(&self, document: &Value) -> Response<Full<Bytes>> {
        self.respond(
            StatusCode::OK,
            JSON_CONTENT_TYPE,
            Bytes::from(document.to_string()),
        )
    }

    /// An AWS JSON 1.1 error: the SDK reads the code from `__type` and `x-amzn-ErrorType`.
    fn error(&self, code: &str, message: &str) -> Response<Full<Bytes>> {
        let mut response = self.respond(
            StatusCode::BAD_REQUEST,
            JSON_CONTENT_TYPE,
            Bytes::from(json!({"__type": code, "message": message}).to_string()),
        );
        if let Ok(code) = HeaderValue::from_str(code) {
            response.headers_mut().insert("x-amzn-errortype", code);
        }
        response
    }

    fn caller_identity(&self) -> Response<Full<Bytes>> {
        let id = self.next_request_id.load(Ordering::Relaxed);
        self.respond(
            StatusCode::OK,
            "text/xml",
            Bytes::from(format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <GetCallerIdentityResult><UserId>AKIAIOSFODNN7EXAMPLE</UserId>\
                 <Account>{ACCOUNT_ID}</Account><Arn>arn:aws:sts::{ACCOUNT_ID}:user/moto</Arn>\
                 </GetCallerIdentityResult><ResponseMetadata><RequestId>{id:032x}</RequestId>\
                 </ResponseMetadata></GetCallerIdentityResponse>"
            )),
        )
    }

    /// The group a request names, or AWS's error for a missing one.
    fn group(&self, input: &Value) -> Result<(usize, &Group), Box<Response<Full<Bytes>>>> {
        let name = input
            .get("logGroupName")
            .or_else(|| input.get("logGroupIdentifier"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.groups
            .iter()
            .enumerate()
            .find(|(_, group)| group.name == name)
            .ok_or_else(|| {
                Box::new(self.error(
                    "ResourceNotFoundException",
                    "The specified log group does not exist.",
                ))
            })
    }

    fn get_log_events(&self, input: &Value) -> Response<Full<Bytes>> {
        let (group_index, group) = match self.group(input) {
            Ok(found) => found,
            Err(response) => return *response,
        };
        let name = input.get("logStreamName").and_then(Value::as_str);
        let Ok(stream_index) = group
            .streams
            .binary_search_by(|stream| stream.name.as_str().cmp(name.unwrap_or_default()))
        else {
            return self.error(
                "ResourceNotFoundException",
                "The specified log stream does not exist.",
            );
        };
        let stream = &group.streams[stream_index];
        let request = EventsRequest {
            start_time: input.get("startTime").and_then(Value::as_i64),
            end_time: input.get("endTime").and_then(Value::as_i64),
            limit: input.get("limit").and_then(Value::as_u64),
            token: input
                .get("nextToken")
                .and_then(Value::as_str)
                .map(str::to_owned),
            start_from_head: input
                .get("startFromHead")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        let body = match stream.page(&request) {
            Err(InvalidToken) => {
                return self.error(
                    "InvalidParameterException",
                    "The specified nextToken is invalid.",
                );
            }
            Ok(Page::Empty { forward, backward }) => empty_body(&forward, &backward),
            Ok(Page::Events { start, stop }) => {
                let key = (group_index, stream_index, start, stop);
                let cached = lock(&self.cache).pages.get(&key).cloned();
                match cached {
                    Some(body) => body,
                    None => {
                        let body = stream.body(start, stop);
                        lock(&self.cache).keep(key, &body);
                        body
                    }
                }
            }
        };
        self.respond(StatusCode::OK, JSON_CONTENT_TYPE, body)
    }

    fn describe_log_streams(&self, input: &Value) -> Response<Full<Bytes>> {
        let (_, group) = match self.group(input) {
            Ok(found) => found,
            Err(response) => return *response,
        };
        let prefix = input
            .get("logStreamNamePrefix")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut streams: Vec<&StreamPages> = group
            .streams
            .iter()
            .filter(|stream| stream.name.starts_with(prefix))
            .collect();
        if input.get("descending").and_then(Value::as_bool) == Some(true) {
            streams.reverse();
        }
        let limit = input
            .get("limit")
            .and_then(Value::as_u64)
            .map_or(STREAMS_PER_PAGE, |limit| {
                usize::try_from(limit).unwrap_or(STREAMS_PER_PAGE)
            })
            .clamp(1, STREAMS_PER_PAGE);
        let first = match input.get("nextToken").and_then(Value::as_str) {
            None => 0,
            Some(token) => match token.strip_prefix("s/").and_then(|i| i.parse().ok()) {
                Some(first) => first,
                None => {
                    return self.error(
                        "InvalidParameterException",
                        "The specified nextToken is invalid.",
                    );
                }
            },
        };
        let end = (first + limit).min(streams.len());
        let page: Vec<Value> = streams
            .get(first..end)
            .unwrap_or_default()
            .iter()
            .map(|stream| {
                let mut entry = json!({
                    "logStreamName": stream.name,
                    "creationTime": group.creation_time,
                    "arn": format!(
                        "arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:{}:log-stream:{}",
                        group.name, stream.name
                    ),
                    "storedBytes": 0,
                });
                if let Some(last) = stream.last_timestamp() {
                    entry["firstEventTimestamp"] = json!(stream.timestamp(0));
                    entry["lastEventTimestamp"] = json!(last);
                    entry["lastIngestionTime"] = json!(last);
                }
                entry
            })
            .collect();
        let mut answer = json!({ "logStreams": page });
        if end < streams.len() {
            answer["nextToken"] = json!(format!("s/{end}"));
        }
        self.json(&answer)
    }

    /// All matching groups in one page (benchmarks hold few).
    fn describe_log_groups(&self, input: &Value) -> Response<Full<Bytes>> {
        let prefix = input
            .get("logGroupNamePrefix")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let groups: Vec<Value> = self
            .groups
            .iter()
            .filter(|group| group.name.starts_with(prefix))
            .map(|group| {
                json!({
                    "logGroupName": group.name,
                    "creationTime": group.creation_time,
                    "arn": format!("arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:{}:*", group.name),
                    "storedBytes": 0,
                    "metricFilterCount": 0,
                })
            })
            .collect();
        self.json(&json!({ "logGroups": groups }))
    }
}
