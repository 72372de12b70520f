//! The proxy itself: a hyper server on its own runtime thread, forwarding with hyper's client.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::rules::{Fault, FaultRule, RequestFacts, RuleBook};

/// What the proxy answers with: whole bodies, or a body cut short.
type ProxyBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// CloudWatch Logs' JSON 1.1 target prefix (`X-Amz-Target: Logs_20140328.GetLogEvents`).
const LOGS_TARGET_PREFIX: &str = "Logs_20140328.";
/// How long a half-sent body waits before the connection is cut, so the half surely leaves.
const MID_BODY_PAUSE: Duration = Duration::from_millis(100);

/// A fault-injecting proxy on `127.0.0.1`; see the crate documentation.
///
/// Dropping it stops it and closes every connection.
#[derive(Debug)]
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    rules: Mutex<RuleBook>,
    requests: Mutex<HashMap<String, usize>>,
    injected: AtomicUsize,
    /// Tokens of empty pages we made up → the token to forward instead (`None`: no token).
    minted: Mutex<HashMap<String, Option<String>>>,
    next_mint: AtomicUsize,
    /// The `limit` given to GetLogEvents requests that set none (0: none given).
    page_limit: AtomicUsize,
    /// Cancelled when the endpoint vanishes: the listener and every connection end.
    shutdown: CancellationToken,
}

impl FaultProxy {
    /// Starts a proxy forwarding to `upstream_endpoint_url` (e.g. moto's
    /// `http://127.0.0.1:PORT`) and returns once it listens. Panics if it cannot.
    pub fn start(upstream_endpoint_url: &str) -> FaultProxy {
        let shared = Arc::new(Shared {
            upstream: upstream_endpoint_url.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            rules: Mutex::new(RuleBook::default()),
            requests: Mutex::new(HashMap::new()),
            injected: AtomicUsize::new(0),
            minted: Mutex::new(HashMap::new()),
            next_mint: AtomicUsize::new(0),
            page_limit: AtomicUsize::new(0),
            shutdown: CancellationToken::new(),
        });
        let (address, thread) = wodle_testkit::spawn_loopback_server("the fault proxy", {
            let shared = Arc::clone(&shared);
            move |listener| serve(listener, shared)
        });
        FaultProxy {
            address,
            shared,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL` and SDK clients.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The upstream this proxy forwards to.
    pub fn upstream_url(&self) -> &str {
        &self.shared.upstream
    }

    /// Arms `rule` after the rules already armed.
    pub fn add(&self, rule: FaultRule) {
        lock(&self.shared.rules).add(rule);
    }

    /// Disarms every rule: from now on everything is forwarded (minted tokens are still
    /// translated).
    pub fn clear(&self) {
        lock(&self.shared.rules).clear();
    }

    /// Makes moto answer GetLogEvents in pages of at most `events` events (sets `limit` on
    /// requests that set none), so that a few hundred events make several pages, as a few
    /// megabytes do on AWS. The collector sets no limit, so it follows whatever paging it
    /// meets.
    pub fn limit_pages(&self, events: usize) {
        self.shared.page_limit.store(events, Ordering::SeqCst);
    }

    /// How many requests of `operation` (`GetLogEvents`, `GetCallerIdentity`, ...) arrived,
    /// faulted or not.
    pub fn requests(&self, operation: &str) -> usize {
        lock(&self.shared.requests)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// How many faults fired.
    pub fn injected(&self) -> usize {
        self.shared.injected.load(Ordering::SeqCst)
    }

    /// The endpoint vanishes: stops listening and closes every open connection; returns once
    /// it is gone. Connecting to [`FaultProxy::endpoint_url`] is refused from then on.
    pub fn vanish(&self) {
        self.shared.shutdown.cancel();
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            // A panic of the proxy's thread already printed its message.
            let _ = thread.join();
        }
    }

    /// Whether the endpoint vanished ([`FaultProxy::vanish`] or [`Fault::Vanish`]).
    pub fn vanished(&self) -> bool {
        self.shared.shutdown.is_cancelled()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.vanish();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock left consistent counters behind.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>) {
    let shutdown = shared.shutdown.clone();
    wodle_testkit::accept_until(listener, &shutdown, "the fault proxy", |stream| {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            // Cancelled to cut this connection without an answer.
            let cut = CancellationToken::new();
            let service = service_fn({
                let shared = Arc::clone(&shared);
                let cut = cut.clone();
                move |request| handle(Arc::clone(&shared), cut.clone(), request)
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            // Dropping the connection closes its socket.
            tokio::select! {
                _ = connection => {}
                () = cut.cancelled() => {}
                () = shared.shutdown.cancelled() => {}
            }
        });
    })
    .await;
}

async fn handle(
    shared: Arc<Shared>,
    cut: CancellationToken,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return Ok(plain(
                StatusCode::BAD_REQUEST,
                format!("unreadable body: {e}"),
            ));
        }
    };
    let operation = operation_of(&parts.headers, &body);
    *lock(&shared.requests).entry(operation.clone()).or_default() += 1;
    let is_logs = parts
        .headers
        .get("x-amz-target")
        .and_then(|target| target.to_str().ok())
        .is_some_and(|target| target.starts_with(LOGS_TARGET_PREFIX));
    let Some(mut document) = is_logs
        .then(|| serde_json::from_slice::<Value>(&body).ok())
        .flatten()
    else {
        return Ok(shared.forward(&parts, body).await.into_whole());
    };

    let sent_token = document
        .get("nextToken")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut forwarded_token = sent_token.clone();
    let mut body = body;
    let page_limit = shared.page_limit.load(Ordering::SeqCst);
    if operation == "GetLogEvents"
        && page_limit > 0
        && document.get("limit").is_none()
        && let Some(fields) = document.as_object_mut()
    {
        fields.insert("limit".to_owned(), Value::from(page_limit));
        body = Bytes::from(document.to_string());
    }
    if let Some(token) = &sent_token {
        let original = lock(&shared.minted).get(token).cloned();
        if let Some(original) = original {
            match &original {
                Some(original) => document["nextToken"] = Value::String(original.clone()),
                None => {
                    if let Some(fields) = document.as_object_mut() {
                        fields.remove("nextToken");
                    }
                }
            }
            forwarded_token = original;
            body = Bytes::from(document.to_string());
        }
    }
    let group = document
        .get("logGroupName")
        .or_else(|| document.get("logGroupIdentifier"))
        .and_then(Value::as_str);
    let stream = document.get("logStreamName").and_then(Value::as_str);
    let fault = lock(&shared.rules).fault_for(&RequestFacts {
        operation: &operation,
        stream,
        has_token: sent_token.is_some(),
    });
    let Some(fault) = fault else {
        return Ok(shared.forward(&parts, body).await.into_whole());
    };
    shared.injected.fetch_add(1, Ordering::SeqCst);
    let response = match fault {
        Fault::Throttle => aws_error(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate exceeded",
        ),
        Fault::ServerError(status) => aws_error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "ServiceUnavailableException",
            "The service is unavailable. Please try again later.",
        ),
        Fault::RejectToken => aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterException",
            crate::INVALID_TOKEN_MESSAGE,
        ),
        Fault::ResetBeforeResponse => {
            cut.cancel();
            return std::future::pending().await;
        }
        Fault::Stall(duration) => {
            tokio::time::sleep(duration).await;
            cut.cancel();
            return std::future::pending().await;
        }
        Fault::Vanish => {
            shared.shutdown.cancel();
            return std::future::pending().await;
        }
        Fault::Slow(duration) => {
            tokio::time::sleep(duration).await;
            shared.forward(&parts, body).await.into_whole()
        }
        Fault::ResetMidBody => shared.forward(&parts, body).await.into_half(),
        Fault::EmptyPage => {
            let number = shared.next_mint.fetch_add(1, Ordering::SeqCst);
            let forward_token = format!("f/wodle-fault-proxy-empty-{number}");
            let backward_token = format!("b/wodle-fault-proxy-empty-{number}");
            {
                let mut minted = lock(&shared.minted);
                minted.insert(forward_token.clone(), forwarded_token.clone());
                minted.insert(backward_token.clone(), forwarded_token);
            }
            json_response(
                StatusCode::OK,
                &json!({
                    "events": [],
                    "nextForwardToken": forward_token,
                    "nextBackwardToken": backward_token,
                }),
                &[],
            )
        }
        Fault::DeleteStream => {
            if let (Some(group), Some(stream)) = (group, stream) {
                shared
                    .call_upstream(
                        &parts,
                        "DeleteLogStream",
                        json!({"logGroupName": group, "logStreamName": stream}),
                    )
                    .await;
            }
            shared.forward(&parts, body).await.into_whole()
        }
        Fault::DeleteGroup => {
            if let Some(group) = group {
                shared
                    .call_upstream(&parts, "DeleteLogGroup", json!({"logGroupName": group}))
                    .await;
            }
            shared.forward(&parts, body).await.into_whole()
        }
    };
    Ok(response)
}

/// The operation a request calls: CloudWatch Logs' `X-Amz-Target`, else a query-protocol
/// `Action` (STS), else `"other"`.
fn operation_of(headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers
        .get("x-amz-target")
        .and_then(|target| target.to_str().ok())
    {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    url::form_urlencoded::parse(body)
        .find(|(key, _)| key == "Action")
        .map_or_else(|| "other".to_owned(), |(_, action)| action.into_owned())
}

/// An upstream answer, read whole.
struct Upstream {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Upstream {
    fn into_whole(self) -> Response<ProxyBody> {
        self.respond(whole(self.body.clone()))
    }

    /// The status, the headers with the whole body's length, and half the body; then the
    /// connection is cut.
    fn into_half(self) -> Response<ProxyBody> {
        let half = self.body.slice(..self.body.len() / 2);
        let mut response = self.respond(
            TruncatedBody {
                half: Some(half),
                pause: Box::pin(tokio::time::sleep(MID_BODY_PAUSE)),
            }
            .boxed_unsync(),
        );
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        response
    }

    fn respond(&self, body: ProxyBody) -> Response<ProxyBody> {
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        for (name, value) in &self.headers {
            if !is_hop_by_hop(name) {
                response.headers_mut().append(name, value.clone());
            }
        }
        response
    }
}

impl Shared {
    /// Sends the request on as it came (its signature does not cover a changed Host for
    /// moto, which checks none) and reads the answer whole; 502 if upstream fails.
    async fn forward(&self, parts: &Parts, body: Bytes) -> Upstream {
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |path_and_query| path_and_query.as_str());
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = match format!("{}{path}", self.upstream).parse() {
            Ok(uri) => uri,
            Err(e) => return bad_gateway(format!("bad upstream URI: {e}")),
        };
        for (name, value) in &parts.headers {
            if !is_hop_by_hop(name) && name != header::HOST {
                request.headers_mut().append(name, value.clone());
            }
        }
        self.send(request).await
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> Upstream {
        let response = match self.client.request(request).await {
            Ok(response) => response,
            Err(e) => return bad_gateway(format!("upstream unreachable: {e}")),
        };
        let (parts, body) = response.into_parts();
        match body.collect().await {
            Ok(collected) => Upstream {
                status: parts.status,
                headers: parts.headers,
                body: collected.to_bytes(),
            },
            Err(e) => bad_gateway(format!("upstream body unreadable: {e}")),
        }
    }

    /// Calls CloudWatch Logs `operation` upstream with the headers (region, credentials) of
    /// the client's request. A failure is printed: the test then sees the stream intact.
    async fn call_upstream(&self, parts: &Parts, operation: &str, input: Value) {
        let mut request = Request::new(Full::new(Bytes::from(input.to_string())));
        *request.method_mut() = hyper::Method::POST;
        *request.uri_mut() = match format!("{}/", self.upstream).parse() {
            Ok(uri) => uri,
            Err(e) => {
                eprintln!("wodle-fault-proxy: {operation}: bad upstream URI: {e}");
                return;
            }
        };
        for (name, value) in &parts.headers {
            if !is_hop_by_hop(name) && name != header::HOST && name != "x-amz-target" {
                request.headers_mut().append(name, value.clone());
            }
        }
        if let Ok(target) = HeaderValue::from_str(&format!("{LOGS_TARGET_PREFIX}{operation}")) {
            request.headers_mut().insert("x-amz-target", target);
        }
        let answer = self.send(request).await;
        if answer.status != StatusCode::OK {
            eprintln!(
                "wodle-fault-proxy: {operation} {input} answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
        }
    }
}

/// Headers that describe one connection or one framing, not the message: hyper sets its own.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TRANSFER_ENCODING
        || name == header::CONTENT_LENGTH
        || name == "keep-alive"
}

fn bad_gateway(message: String) -> Upstream {
    Upstream {
        status: StatusCode::BAD_GATEWAY,
        headers: HeaderMap::new(),
        body: Bytes::from(message),
    }
}

fn whole(body: Bytes) -> ProxyBody {
    Full::new(body)
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

fn plain(status: StatusCode, message: String) -> Response<ProxyBody> {
    let mut response = Response::new(whole(Bytes::from(message)));
    *response.status_mut() = status;
    response
}

fn json_response(
    status: StatusCode,
    document: &Value,
    extra_headers: &[(&'static str, &str)],
) -> Response<ProxyBody> {
    let mut response = Response::new(whole(Bytes::from(document.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    headers.insert(
        "x-amzn-requestid",
        HeaderValue::from_static("00000000-0000-4000-8000-fa017fa017fa"),
    );
    for (name, value) in extra_headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(*name, value);
        }
    }
    response
}

/// An AWS JSON 1.1 error: the SDK reads the code from `__type` and `x-amzn-ErrorType`.
fn aws_error(status: StatusCode, code: &str, message: &str) -> Response<ProxyBody> {
    json_response(
        status,
        &json!({"__type": code, "message": message}),
        &[("x-amzn-errortype", code)],
    )
}

/// Half a body, a pause so it leaves the socket, then an error, on which hyper closes the
/// connection: the client has the headers' full length promised and less delivered.
struct TruncatedBody {
    half: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl Body for TruncatedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(half) = self.half.take() {
            return Poll::Ready(Some(Ok(Frame::data(half))));
        }
        match self.pause.as_mut().poll(context) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::other(
                "wodle-fault-proxy: connection reset mid-body",
            )))),
        }
    }
}
