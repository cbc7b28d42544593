//! `quartet probe` against `quartet server`'s embedded relay, the stream published by FFmpeg's
//! CLI, read over RTMP and over HTTP-FLV; and its errors, as a tester meets them.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions

mod common;

use std::time::{Duration, Instant};

use common::{Proc, run};
use quartet_proto::sign::StreamSigner;
use quartet_testkit::ffmpeg_publish;

const BIZID: &str = "8888";
const KEY: &str = "probe-test-key";
/// How long a probe that was told to stop may take to exit.
const STOPS_WITHIN: Duration = Duration::from_secs(3);

/// A `quartet server` with a known push key; (process, RTMP base, HTTP-FLV base, room server).
fn server() -> (Proc, String, String, String) {
    let mut server = Proc::start(&[
        "server",
        "--ephemeral",
        "--listen",
        "127.0.0.1:0",
        "--rtmp-listen",
        "127.0.0.1:0",
        "--bizid",
        BIZID,
        "--push-secret-key",
        KEY,
    ]);
    let rtmp = server.expect("RTMP relay:");
    let rtmp = rtmp.split_whitespace().nth(2).unwrap().to_owned();
    let flv = server.expect("HTTP-FLV:");
    let flv = flv.split_whitespace().nth(1).unwrap().to_owned();
    let http = server.expect("room server: ");
    let http = http.trim_start_matches("room server: ").trim().to_owned();
    (server, rtmp, flv, http)
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out:?}: {e}"))
}

#[test]
fn probe_reads_an_ffmpeg_stream_over_rtmp_and_http_flv() {
    let (_server, rtmp, flv, _) = server();
    let id = format!("{BIZID}_probe");
    let expiry = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let signer = StreamSigner::new(BIZID, KEY);
    let push = format!("{rtmp}/{}", signer.signed_stream(&id, expiry));
    let _publisher = ffmpeg_publish(&push, 320, 180, 15).unwrap();
    let play = signer.signed_play_stream(&id, expiry);
    let (name, query) = play.split_once('?').unwrap();
    for url in [
        format!("{rtmp}/{play}"),
        format!("{flv}/{name}.flv?{query}"),
    ] {
        // The publisher may still be starting: a first try may find no stream yet.
        let deadline = Instant::now() + common::WAIT;
        let out = loop {
            let (ok, out, err) = run(&["probe", &url, "--seconds", "2", "--json"]);
            if ok {
                break out;
            }
            assert!(Instant::now() < deadline, "{url}: {err}");
            std::thread::sleep(Duration::from_millis(500));
        };
        let v = json(&out);
        assert_eq!(v["video"]["codec"], "h264", "{v}");
        assert_eq!(v["video"]["width"], 320, "{v}");
        assert_eq!(v["video"]["height"], 180, "{v}");
        assert!(
            v["video"]["profile"].is_string() && v["video"]["level"].is_string(),
            "{v}"
        );
        assert_eq!(v["audio"]["codec"], "aac", "{v}");
        assert_eq!(v["audio"]["sampleRate"], 48_000, "{v}");
        assert_eq!(v["audio"]["channels"], 1, "{v}");
        let fps = v["fps"].as_f64().unwrap();
        assert!((12.0..=18.0).contains(&fps), "{v}");
        assert!(v["kbps"].as_f64().unwrap() > 20.0, "{v}");
        assert!(v["firstFrameMs"].as_f64().is_some(), "{v}");
        assert!(v["keyframes"].as_u64().unwrap() >= 1, "{v}");
        // FFmpeg's test pattern carries no frame clock.
        assert!(v["latency"].is_null(), "{v}");
        assert!(!out.contains("txSecret"), "the signature leaked: {out}");

        let (ok, text, err) = run(&["probe", &url, "--seconds", "1"]);
        assert!(ok, "{err}");
        assert!(
            text.contains("video:      h264") && text.contains("320x180"),
            "{text}"
        );
    }
}

#[test]
fn probe_errors_are_clear_and_prompt() {
    let (ok, _, err) = run(&["probe", "file:///etc/passwd"]);
    assert!(!ok && err.contains("not an RTMP or HTTP-FLV URL"), "{err}");

    // Nothing listens there.
    let port = quartet_testkit::free_port().unwrap();
    let (ok, _, err) = run(&["probe", &format!("rtmp://127.0.0.1:{port}/live/x")]);
    assert!(!ok && err.contains("cannot open"), "{err}");

    let (_server, _rtmp, flv, _) = server();
    let (ok, _, err) = run(&["probe", &format!("{flv}/{BIZID}_nobody.flv")]);
    assert!(!ok && err.contains("404"), "{err}");

    // A listener that accepts and says nothing: the timeout ends the wait.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/live/x.flv", silent.local_addr().unwrap());
    let started = Instant::now();
    let (ok, _, err) = run(&["probe", &url, "--timeout", "1"]);
    assert!(
        !ok && (err.contains("no media") || err.contains("cannot open")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Ctrl-C during a long wait.
    let mut waiting = Proc::start(&["probe", &url, "--timeout", "60"]);
    std::thread::sleep(Duration::from_millis(500));
    let asked = Instant::now();
    waiting.signal("-INT");
    let status = waiting.wait_exit();
    assert!(!status.success());
    assert!(asked.elapsed() < STOPS_WITHIN, "{:?}", asked.elapsed());
}

#[test]
fn probe_reads_the_latency_of_a_stream_with_quartets_frame_clock() {
    let (_server, _rtmp, flv, http) = server();
    let mut bot = Proc::start(&[
        "bot",
        "--server",
        &http,
        "--create",
        "Probe",
        "--name",
        "Clock",
        "--no-small-stream",
    ]);
    let joined = bot.expect("joined room ");
    let user_id = joined.split_whitespace().last().unwrap().to_owned();
    let url = format!("{flv}/{BIZID}_{user_id}.flv");
    let deadline = Instant::now() + common::WAIT;
    let v = loop {
        let (ok, out, err) = run(&["probe", &url, "--seconds", "2", "--json"]);
        if ok {
            let v = json(&out);
            if v["latency"]["samples"].as_u64().unwrap_or(0) > 0 {
                break v;
            }
        }
        assert!(Instant::now() < deadline, "{url}: {out} {err}");
        std::thread::sleep(Duration::from_millis(500));
    };
    // Capture → decoded here, on one machine: tens of milliseconds, never seconds.
    let p50 = v["latency"]["p50Ms"].as_f64().unwrap();
    assert!((0.0..1_000.0).contains(&p50), "{v}");
    assert!(v["latency"]["samples"].as_u64().unwrap() >= 10, "{v}");
    bot.signal("-INT");
    bot.wait_exit();
}
