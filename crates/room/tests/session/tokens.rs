//! Where the token travels: only in an `Authorization: Bearer` header, only to a server that
//! asked for it (`tokenHeader` in `get_im_login_info`), never in a URL, a body or a log line.
//!
//! Both servers below are a real `quartet-server` behind a recording layer on 127.0.0.1; the
//! v1 stand-in is one in the original's shape: anonymous calls served, no event channel, and a
//! login answer without `tokenHeader`, as an original v1 server gives.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use crate::harness::{EVENT_WAIT, Peer, fast_server};
use anyhow::{Context, Result, ensure};
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use quartet_room::{EventMode, LeaveMode, SessionEvent};
use quartet_server::{NeverLive, Server, ServerConfig};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

/// Largest body the recorder reads; room API bodies are a few hundred bytes.
const MAX_RECORDED_BODY: usize = 1 << 20;

/// One request as the server received it.
#[derive(Debug, Clone)]
struct Seen {
    uri: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Act as an original v1 server: no `tokenHeader` in the login answer.
    v1: bool,
}

impl Recorder {
    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn record(recorder: Recorder, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_RECORDED_BODY).await.unwrap_or_default();
    recorder.seen.lock().unwrap().push(Seen {
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    let login = parts.uri.path().ends_with("/get_im_login_info");
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !(recorder.v1 && login) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = to_bytes(body, MAX_RECORDED_BODY).await.unwrap_or_default();
    let mut answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(map) = answer.as_object_mut() {
        map.remove("tokenHeader");
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(answer.to_string()))
}

/// A room server behind the recorder, served until the returned sender is dropped or fired.
async fn serve(config: ServerConfig, recorder: Recorder) -> Result<(Url, oneshot::Sender<()>)> {
    let server = Server::new(config, Arc::new(NeverLive));
    let app = quartet_server::router(server).layer(middleware::from_fn(move |req, next| {
        record(recorder.clone(), req, next)
    }));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = Url::parse(&format!("http://{}/", listener.local_addr()?))?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok((url, stop))
}

/// A whole session of two members: join, hear each other, talk (`text`: where the server
/// carries text, which needs the event channel), leave.
async fn full_session(url: &Url, text: bool) -> Result<Vec<String>> {
    let mut ann = Peer::create(url, "Ann", EventMode::Auto).await?;
    let bob = Peer::join(url, &ann.handle.room_id(), "Bob", EventMode::Auto).await?;
    ann.expect_joined(&bob).await?;
    if text {
        bob.handle.send_text("hello").await?;
        ann.expect("Bob's text", |e| matches!(e, SessionEvent::Text { .. }))
            .await?;
    }
    // Past the first heartbeats and polls.
    tokio::time::sleep(crate::harness::fast_timing().heartbeat_interval * 2).await;
    let sigs = vec![ann.handle.user_sig(), bob.handle.user_sig()];
    bob.handle.leave(LeaveMode::Leave).await?;
    ann.expect_left(&bob.id(), "Bob").await?;
    ann.handle.leave(LeaveMode::Leave).await?;
    tokio::time::timeout(EVENT_WAIT, ann.expect_end()).await??;
    Ok(sigs)
}

#[tokio::test]
async fn an_original_v1_server_is_sent_no_token_at_all() -> Result<()> {
    let recorder = Recorder {
        v1: true,
        ..Recorder::default()
    };
    let config = ServerConfig {
        allow_anonymous: true,
        events: false,
        ..fast_server(false)
    };
    let (url, _stop) = serve(config, recorder.clone()).await?;
    let sigs = full_session(&url, false).await?;
    let seen = recorder.requests();
    ensure!(seen.len() > 10, "a session makes many calls: {seen:?}");
    ensure!(
        seen.iter().any(|s| s.uri.contains("/events")),
        "the client tried the event channel"
    );
    for s in &seen {
        ensure!(s.headers.get(header::AUTHORIZATION).is_none(), "{s:?}");
        for sig in &sigs {
            ensure!(!sig.is_empty());
            ensure!(!s.uri.contains(sig.as_str()), "token in a URL: {s:?}");
            ensure!(!s.body.contains(sig.as_str()), "token in a body: {s:?}");
            for (name, value) in &s.headers {
                ensure!(
                    !value
                        .as_bytes()
                        .windows(sig.len())
                        .any(|w| w == sig.as_bytes()),
                    "token in header {name}: {s:?}"
                );
            }
        }
        ensure!(!s.uri.to_ascii_lowercase().contains("usersig"), "{s:?}");
        ensure!(!s.body.to_ascii_lowercase().contains("usersig"), "{s:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_quartet_server_gets_the_token_in_the_authorization_header_only() -> Result<()> {
    let recorder = Recorder::default();
    let (url, _stop) = serve(fast_server(true), recorder.clone()).await?;
    let sigs = full_session(&url, true).await?;
    let seen = recorder.requests();
    let upgrades = seen.iter().filter(|s| s.uri.contains("/events")).count();
    ensure!(
        upgrades >= 2,
        "both members opened the event channel: {seen:?}"
    );
    let mut bearing = 0;
    for s in &seen {
        ensure!(!s.uri.to_ascii_lowercase().contains("usersig"), "{s:?}");
        ensure!(!s.body.to_ascii_lowercase().contains("usersig"), "{s:?}");
        for sig in &sigs {
            ensure!(
                !s.uri.contains(sig.as_str()) && !s.body.contains(sig.as_str()),
                "{s:?}"
            );
            for (name, value) in &s.headers {
                let carries = value
                    .as_bytes()
                    .windows(sig.len())
                    .any(|w| w == sig.as_bytes());
                if carries {
                    ensure!(
                        name == header::AUTHORIZATION,
                        "token in header {name}: {s:?}"
                    );
                    ensure!(
                        value.as_bytes() == format!("Bearer {sig}").as_bytes(),
                        "{s:?}"
                    );
                    bearing += 1;
                }
            }
        }
    }
    let after_login = seen
        .iter()
        .filter(|s| !s.uri.contains("get_im_login_info"))
        .count();
    ensure!(
        bearing == after_login,
        "every call after the login bears a token: {bearing} of {after_login}"
    );
    Ok(())
}

/// A `MakeWriter` into a shared buffer, so a test can read every line that was logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The value of query parameter `name` in `url`.
fn query_value(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

// One thread, so every task of the session and of the server logs to this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn no_token_or_stream_signature_reaches_a_log_line() -> Result<()> {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (url, _stop) = serve(fast_server(true), Recorder::default()).await?;
    let mut ann = Peer::create(&url, "Ann", EventMode::Auto).await?;
    let bob = Peer::join(&url, &ann.handle.room_id(), "Bob", EventMode::Auto).await?;
    let bob_seen = ann.expect_joined(&bob).await?;
    bob.handle.send_text("hello").await?;
    ann.expect("Bob's text", |e| matches!(e, SessionEvent::Text { .. }))
        .await?;
    tokio::time::sleep(crate::harness::fast_timing().heartbeat_interval * 2).await;
    let mut secrets = vec![ann.handle.user_sig(), bob.handle.user_sig()];
    for signed in [
        ann.handle.push_url(),
        bob.handle.push_url(),
        bob_seen.play_url.clone(),
    ] {
        secrets.push(query_value(&signed, "txSecret").context("a signed URL")?);
    }
    // The members' Debug output is what a careless log line would print.
    tracing::debug!(member = ?bob_seen, "a member as logged");
    bob.handle.leave(LeaveMode::Leave).await?;
    ann.expect_left(&bob.id(), "Bob").await?;
    ann.handle.leave(LeaveMode::Leave).await?;
    ann.expect_end().await?;

    let text = String::from_utf8(captured.0.lock().unwrap().clone())?;
    ensure!(
        text.contains("joined the room") && text.contains("a member as logged"),
        "the capture holds the session's lines:\n{text}"
    );
    for line in text.lines() {
        for secret in &secrets {
            ensure!(!secret.is_empty());
            ensure!(!line.contains(secret.as_str()), "a secret in: {line}");
        }
    }
    Ok(())
}
