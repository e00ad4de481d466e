//! A recording, fault-injecting HTTP proxy in front of moto: it names every AWS call that passes
//! (`s3:PUT /bucket?policy`, `iam:CreateRole`, …), tells reads from mutations, and can refuse
//! the Nth mutation with a non-retryable `AccessDenied`, as an apply interrupted there would
//! see it, or answer a named call with an IAM error a given number of times, as IAM does while a
//! change propagates.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// One call seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `iam:GetRole`, `sts:GetCallerIdentity`, or `s3:METHOD /path?subresource`.
    pub name: String,
    /// Whether it changes state.
    pub mutating: bool,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    /// Refuse the mutation with this 0-based index.
    fail_mutation: Option<usize>,
    mutations: usize,
    /// Calls answered with an IAM error instead of being forwarded.
    lagging: Vec<Lag>,
}

/// A call answered `times` more times with `code` and `message` (HTTP 400).
struct Lag {
    call: String,
    times: usize,
    code: String,
    message: String,
}

/// The running proxy.
#[derive(Clone)]
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    /// Starts a proxy forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let upstream: Arc<str> = upstream.trim_end_matches('/').into();
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (client, upstream, state) =
                    (client.clone(), Arc::clone(&upstream), Arc::clone(&shared));
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        forward(
                            request,
                            client.clone(),
                            Arc::clone(&upstream),
                            Arc::clone(&state),
                        )
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Proxy {
            url: format!("http://{addr}"),
            state,
        }
    }

    /// The calls seen since the last [`Proxy::reset`].
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The mutating calls seen.
    pub fn mutations(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c.mutating)
            .map(|c| c.name)
            .collect()
    }

    /// Answers the next `times` calls named `call` (`iam:CreateRole`) with IAM error `code`
    /// and `message`, HTTP 400, without forwarding them.
    pub fn lag(&self, call: &str, times: usize, code: &str, message: &str) {
        self.state.lock().unwrap().lagging.push(Lag {
            call: call.to_owned(),
            times,
            code: code.to_owned(),
            message: message.to_owned(),
        });
    }

    /// Forgets the calls, and refuses the mutation with index `fail` (0-based) from now on.
    pub fn reset(&self, fail: Option<usize>) {
        let mut state = self.state.lock().unwrap();
        *state = State {
            fail_mutation: fail,
            ..State::default()
        };
    }
}

fn classify(method: &hyper::Method, path_and_query: &str, body: &[u8]) -> Call {
    let action = form_urlencoded::parse(body)
        .chain(form_urlencoded::parse(
            path_and_query
                .split_once('?')
                .map_or("", |(_, q)| q)
                .as_bytes(),
        ))
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.into_owned());
    match action {
        Some(action) => {
            let service = if matches!(
                action.as_str(),
                "GetCallerIdentity" | "AssumeRoleWithWebIdentity"
            ) {
                "sts"
            } else {
                "iam"
            };
            let mutating = !(action.starts_with("Get") || action.starts_with("List"));
            Call {
                name: format!("{service}:{action}"),
                mutating,
            }
        }
        None => {
            // S3 REST: the subresource is the first query key (`?policy`, `?publicAccessBlock`).
            let (path, query) = path_and_query
                .split_once('?')
                .unwrap_or((path_and_query, ""));
            let sub = query
                .split('&')
                .next()
                .unwrap_or("")
                .split('=')
                .next()
                .unwrap_or("");
            let sub = if sub.is_empty() || sub.starts_with("x-id") {
                String::new()
            } else {
                format!("?{sub}")
            };
            let depth = if path.trim_matches('/').contains('/') {
                "/bucket/key"
            } else {
                "/bucket"
            };
            Call {
                name: format!("s3:{method} {depth}{sub}"),
                mutating: !matches!(*method, hyper::Method::GET | hyper::Method::HEAD),
            }
        }
    }
}

async fn forward(
    request: hyper::Request<Incoming>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Arc<str>,
    state: Arc<Mutex<State>>,
) -> Result<hyper::Response<Full<Bytes>>, hyper::Error> {
    let (mut parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let call = classify(&parts.method, &path_and_query, &body);
    let (refuse, lagged) = {
        let mut state = state.lock().unwrap();
        let refuse = call.mutating && state.fail_mutation == Some(state.mutations);
        if call.mutating {
            state.mutations += 1;
        }
        state.calls.push(call.clone());
        let lagged = state
            .lagging
            .iter_mut()
            .find(|lag| lag.call == call.name && lag.times > 0)
            .map(|lag| {
                lag.times -= 1;
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>",
                    lag.code, lag.message
                )
            });
        (refuse, lagged)
    };
    if let Some(xml) = lagged {
        return Ok(hyper::Response::builder()
            .status(400)
            .header("content-type", "text/xml")
            .body(Full::new(Bytes::from(xml)))
            .unwrap());
    }
    if refuse {
        let xml = if call.name.starts_with("s3:") {
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>interrupted by the test proxy</Message></Error>"
        } else {
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>interrupted by the test proxy</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
        };
        return Ok(hyper::Response::builder()
            .status(403)
            .header("content-type", "text/xml")
            .body(Full::new(Bytes::from_static(xml.as_bytes())))
            .unwrap());
    }
    parts.uri = format!("{upstream}{path_and_query}").parse().unwrap();
    let response = match client
        .request(hyper::Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(response) => response,
        Err(e) => {
            return Ok(hyper::Response::builder()
                .status(502)
                .body(Full::new(Bytes::from(e.to_string())))
                .unwrap());
        }
    };
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(hyper::Response::from_parts(parts, Full::new(body)))
}
