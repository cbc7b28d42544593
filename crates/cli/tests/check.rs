//! `quartet check` as a tester runs it: clean against `quartet server`, and exactly one
//! deviation against a stand-in that answers one code as the original did not.
#![allow(clippy::unwrap_used)] // the stand-in and helpers outside #[test] functions fail their test the same way

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use common::{Proc, run};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// A `quartet server` on free ports, and its URL.
fn server() -> (Proc, String) {
    let mut server = Proc::start(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--rtmp-listen",
        "127.0.0.1:0",
        "--ephemeral",
    ]);
    let line = server.expect("room server: ");
    let url = line.trim_start_matches("room server: ").trim().to_owned();
    (server, url)
}

/// `quartet check --json` against `url`: whether it succeeded, and its report.
fn check(url: &str, kind: &str) -> (bool, Value) {
    let (ok, out, err) = run(&["check", "--server", url, "--kind", kind, "--json"]);
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (ok, report)
}

fn deviations(report: &Value) -> Vec<&Value> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["deviations"].as_array().unwrap().iter().map(move |_| s))
        .collect()
}

#[test]
fn quartet_server_answers_as_the_original_for_every_kind() {
    let (_server, url) = server();
    let (ok, report) = check(&url, "all");
    assert!(ok, "{report:#}");
    assert_eq!(report["deviations"], 0, "{report:#}");
    assert_eq!(report["stopped"], serde_json::json!([]));
    let steps = report["steps"].as_array().unwrap();
    for kind in ["multi_room", "double_room", "live_room"] {
        assert!(
            steps.iter().filter(|s| s["kind"] == kind).count() > 20,
            "{kind} walked: {report:#}"
        );
    }
}

/// The stand-in: forwards every call to a real server, but once a room is destroyed answers a
/// heartbeat in it with code 3 (and code 3's own message), where the original answered 5.
#[derive(Clone)]
struct StandIn {
    upstream: String,
    http: reqwest::Client,
    gone: Arc<Mutex<HashSet<String>>>,
}

async fn forward(State(s): State<StandIn>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let mut request = s
        .http
        .post(format!("{}{path}", s.upstream.trim_end_matches('/')))
        .body(body.clone());
    for name in [header::CONTENT_TYPE, header::AUTHORIZATION] {
        if let Some(value) = headers.get(&name) {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = request.send().await.unwrap();
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let content_type = answer.headers().get("content-type").cloned();
    let bytes = answer.bytes().await.unwrap();
    let room_of = |b: &[u8]| {
        serde_json::from_slice::<Value>(b).ok()?["roomID"]
            .as_str()
            .map(str::to_owned)
    };
    let mut reply: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let room = room_of(&body);
    if path.ends_with("/destroy_room") && reply["code"] == 0 {
        s.gone.lock().unwrap().extend(room);
    } else if path.ends_with("/pusher_heartbeat")
        && reply["code"] == 5
        && room.is_some_and(|r| s.gone.lock().unwrap().contains(&r))
    {
        reply["code"] = 3.into();
        reply["message"] = "您请求的房间不存在".into();
        let mut response = (status, serde_json::to_vec(&reply).unwrap()).into_response();
        if let Some(ct) = content_type {
            response.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        return response;
    }
    let mut response = (status, bytes).into_response();
    if let Some(ct) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    response
}

#[test]
fn a_stand_in_answering_one_code_differently_is_one_deviation() {
    let (_server, url) = server();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let stand_in = format!("http://{}", listener.local_addr().unwrap());
    let state = StandIn {
        upstream: url,
        http: reqwest::Client::new(),
        gone: Arc::default(),
    };
    let app = Router::new().fallback(forward).with_state(state);
    runtime.spawn(async move { axum::serve(listener, app).await });

    let (ok, report) = check(&stand_in, "multi_room");
    assert!(!ok, "a deviation fails the command");
    assert_eq!(report["deviations"], 1, "{report:#}");
    let found = deviations(&report);
    assert_eq!(found.len(), 1);
    let step = found[0];
    assert_eq!(step["step"], "heartbeat once the room is gone");
    assert_eq!(step["endpoint"], "pusher_heartbeat");
    let d = &step["deviations"][0];
    assert_eq!(d["what"], "code");
    assert!(
        d["expected"]
            .as_str()
            .unwrap()
            .starts_with("code 5 (您请求的房间成员不存在)"),
        "{d}"
    );
    assert_eq!(d["got"], "code 3 (您请求的房间不存在)");
}

#[test]
fn an_unreachable_server_stops_the_walk_and_fails() {
    // A server that is not there: the walk stops at once, clearly, and fails.
    let (ok, out, err) = run(&["check", "--server", "http://127.0.0.1:9"]);
    assert!(!ok);
    assert!(
        out.contains("stopped: get_im_login_info: no answer"),
        "{out}"
    );
    assert!(err.contains("the walk stopped early"), "{err}");
}
