//! How one answer is judged against a step of the table: status, content type, code, the
//! original's message for that code, the fields and their JSON types, and who is listed.
//! A pure function, so every rule is tested without a server.

use super::steps::{Answer, Json, Listing, Step, Who};
use quartet_proto::Code;
use quartet_room::RawReply;
use serde::Serialize;
use serde_json::{Map, Value};

/// The `content-type` the original's Koa server sent with every answer.
pub(crate) const ORIGINAL_CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// Most characters of an unexpected body quoted in a report.
const MAX_QUOTED_CHARS: usize = 120;

/// One way an answer differs from the original's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Deviation {
    /// What differs: `code`, `message`, `content-type`, `field pushers[0].userID`, …
    pub(crate) what: String,
    /// What the original answered.
    pub(crate) expected: String,
    /// What this server answered.
    pub(crate) got: String,
}

/// What the walk knows when it judges: our room and who plays whom.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Known<'a> {
    /// The room we created.
    pub(crate) room_id: &'a str,
    /// The creator's userID.
    pub(crate) creator: &'a str,
    /// The second member's userID.
    pub(crate) second: &'a str,
}

impl Known<'_> {
    fn user_id(&self, who: Who) -> &str {
        match who {
            Who::Creator => self.creator,
            Who::Second => self.second,
        }
    }
}

/// The original's message for `code`, when it is one of the codes the original (or Quartet's
/// table of ext codes) names.
fn message_of(code: i64) -> Option<&'static str> {
    match Code::from_i64(code) {
        Code::Other(_) => None,
        known => Some(known.default_message()),
    }
}

fn describe(answer: Answer) -> String {
    match answer {
        Answer::Code(n) => format!("code {n} ({})", message_of(n).unwrap_or("?")),
        Answer::NoEndpoint => "HTTP 404 (no such endpoint)".to_owned(),
    }
}

fn deviation(
    what: impl Into<String>,
    expected: impl Into<String>,
    got: impl Into<String>,
) -> Deviation {
    Deviation {
        what: what.into(),
        expected: expected.into(),
        got: got.into(),
    }
}

fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut quoted: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    if text.chars().count() > MAX_QUOTED_CHARS {
        quoted.push('…');
    }
    quoted
}

/// Judges `reply` to `step`: the deviations, and the answer's object when it was JSON (for the
/// walk to keep what it needs).
pub(crate) fn judge(
    step: &Step,
    reply: &RawReply,
    known: &Known<'_>,
) -> (Vec<Deviation>, Option<Map<String, Value>>) {
    let accepted: Vec<Answer> = std::iter::once(step.expect.v1)
        .chain(step.expect.ext)
        .collect();
    let expected = match step.expect.ext {
        Some(ext) => format!(
            "{} (v1) or {} (ext)",
            describe(step.expect.v1),
            describe(ext)
        ),
        None => describe(step.expect.v1),
    };
    let mut out = Vec::new();
    if reply.status == 404 && accepted.contains(&Answer::NoEndpoint) {
        return (out, None);
    }
    if reply.status != 200 {
        out.push(deviation(
            "HTTP status",
            format!("200 with {expected}"),
            format!("{} {}", reply.status, quote(&reply.body)),
        ));
        return (out, None);
    }
    let content_type = reply.content_type.as_deref().unwrap_or("(none)");
    if !same_content_type(content_type, ORIGINAL_CONTENT_TYPE) {
        out.push(deviation(
            "content-type",
            ORIGINAL_CONTENT_TYPE,
            content_type,
        ));
    }
    let object = match serde_json::from_slice::<Value>(&reply.body) {
        Ok(Value::Object(map)) => map,
        _ => {
            out.push(deviation("body", "a JSON object", quote(&reply.body)));
            return (out, None);
        }
    };
    let Some(got) = object.get("code").and_then(Value::as_i64) else {
        let shown = object
            .get("code")
            .map_or("absent".to_owned(), Value::to_string);
        out.push(deviation("code", expected, shown));
        return (out, Some(object));
    };
    if !accepted.contains(&Answer::Code(got)) {
        out.push(deviation("code", expected, describe(Answer::Code(got))));
    }
    if let Some(text) = message_of(got) {
        match object.get("message") {
            Some(Value::String(m)) if m == text => {}
            other => out.push(deviation(
                "message",
                format!("{text:?} (the original's text for code {got})"),
                other.map_or("absent".to_owned(), Value::to_string),
            )),
        }
    }
    if got == 0 && accepted.contains(&Answer::Code(0)) {
        for (path, json) in step.fields {
            check_path(&Value::Object(object.clone()), path, "", *json, &mut out);
        }
        check_listing(step.listing, &object, known, &mut out);
    }
    (out, Some(object))
}

/// `application/json; charset=utf-8` in any case and spacing.
fn same_content_type(got: &str, want: &str) -> bool {
    let norm = |s: &str| {
        s.split(';')
            .map(|p| p.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    norm(got) == norm(want)
}

fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "absent",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "a boolean",
        Some(Value::Number(_)) => "a number",
        Some(Value::String(_)) => "a string",
        Some(Value::Array(_)) => "an array",
        Some(Value::Object(_)) => "an object",
    }
}

fn is(json: Json, value: &Value) -> bool {
    match json {
        Json::Str => value.is_string(),
        Json::Num => value.is_number(),
        Json::Arr => value.is_array(),
    }
}

/// Checks `path` (segments split by `.`, `name[]` = each element of the array `name`) under
/// `value`, naming each element it visits in the report (`pushers[1].userID`).
fn check_path(value: &Value, path: &str, shown: &str, json: Json, out: &mut Vec<Deviation>) {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let (name, each) = match head.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (head, false),
    };
    let here = if shown.is_empty() {
        name.to_owned()
    } else {
        format!("{shown}.{name}")
    };
    let field = value.get(name);
    match (each, rest, field) {
        (false, None, field) => {
            if !field.is_some_and(|v| is(json, v)) {
                out.push(deviation(
                    format!("field {here}"),
                    json.name(),
                    type_name(field),
                ));
            }
        }
        // The array itself is checked by a path of its own; here only its elements.
        (true, Some(rest), Some(Value::Array(items))) => {
            for (i, item) in items.iter().enumerate() {
                check_path(item, rest, &format!("{here}[{i}]"), json, out);
            }
        }
        (true, _, _) => {}
        (false, Some(rest), Some(inner)) => check_path(inner, rest, &here, json, out),
        (false, Some(_), None) => {
            out.push(deviation(format!("field {here}"), "an object", "absent"))
        }
    }
}

fn check_listing(
    listing: Listing,
    object: &Map<String, Value>,
    known: &Known<'_>,
    out: &mut Vec<Deviation>,
) {
    let ids = |key: &str, id: &str| -> Vec<String> {
        object
            .get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.get(id).and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    match listing {
        Listing::Any => {}
        Listing::HasOurRoom => {
            if !ids("rooms", "roomID").iter().any(|r| r == known.room_id) {
                out.push(deviation(
                    "rooms",
                    format!("{} listed", known.room_id),
                    "not listed",
                ));
            }
        }
        Listing::Members(who) => {
            let want: Vec<&str> = who.iter().map(|w| known.user_id(*w)).collect();
            let got = ids("pushers", "userID");
            if got != want {
                out.push(deviation(
                    "pushers",
                    format!("{want:?}"),
                    format!("{got:?}"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::steps::STEPS;
    use quartet_proto::Endpoint;

    const KNOWN: Known<'static> = Known {
        room_id: "room_1",
        creator: "user_a",
        second: "user_b",
    };

    fn reply(body: Value) -> RawReply {
        RawReply {
            status: 200,
            content_type: Some(ORIGINAL_CONTENT_TYPE.into()),
            body: serde_json::to_vec(&body).unwrap(),
        }
    }

    fn step(what: &str) -> &'static Step {
        STEPS.iter().find(|s| s.what.starts_with(what)).unwrap()
    }

    fn whats(d: &[Deviation]) -> Vec<&str> {
        d.iter().map(|d| d.what.as_str()).collect()
    }

    #[test]
    fn the_original_answer_is_no_deviation() {
        let ok = serde_json::json!({"code": 0, "message": "请求成功",
            "pushers": [{"userID": "user_a", "userName": "A", "userAvatar": "x", "accelerateURL": "rtmp://h/a"},
                        {"userID": "user_b", "userName": "B", "userAvatar": "x", "accelerateURL": "rtmp://h/b"}]});
        let (d, body) = judge(step("both are listed"), &reply(ok), &KNOWN);
        assert_eq!(d, vec![]);
        assert!(body.is_some());
        let gone =
            serde_json::json!({"code": 5, "message": "您请求的房间成员不存在", "detail": "why"});
        assert_eq!(
            judge(step("heartbeat once the room"), &reply(gone), &KNOWN).0,
            vec![]
        );
    }

    #[test]
    fn a_different_code_is_one_deviation_when_its_message_matches_it() {
        let three = serde_json::json!({"code": 3, "message": "您请求的房间不存在"});
        let (d, _) = judge(step("heartbeat once the room"), &reply(three), &KNOWN);
        assert_eq!(whats(&d), ["code"]);
        assert!(
            d[0].expected.starts_with("code 5 (您请求的房间成员不存在)"),
            "{d:?}"
        );
        assert_eq!(d[0].got, "code 3 (您请求的房间不存在)");
    }

    #[test]
    fn a_message_with_a_suffix_and_a_bare_content_type_are_deviations() {
        let mut r = reply(
            serde_json::json!({"code": 5, "message": "您请求的房间成员不存在 (not a member)"}),
        );
        r.content_type = Some("application/json".into());
        let (d, _) = judge(step("heartbeat once the room"), &r, &KNOWN);
        assert_eq!(whats(&d), ["content-type", "message"]);
        r.content_type = Some("Application/JSON;charset=UTF-8".into());
        assert_eq!(
            whats(&judge(step("heartbeat once the room"), &r, &KNOWN).0),
            ["message"]
        );
    }

    #[test]
    fn fields_are_checked_by_type_in_every_element() {
        let body = serde_json::json!({"code": 0, "message": "请求成功",
            "pushers": [{"userID": "user_a", "userName": "A", "userAvatar": "x", "accelerateURL": "u"},
                        {"userID": "user_b", "userName": 7, "accelerateURL": "u"}]});
        let (d, _) = judge(step("both are listed"), &reply(body), &KNOWN);
        assert_eq!(
            whats(&d),
            ["field pushers[1].userName", "field pushers[1].userAvatar"]
        );
        assert_eq!(
            (d[0].expected.as_str(), d[0].got.as_str()),
            ("a string", "a number")
        );
        assert_eq!(d[1].got, "absent");
        let login = serde_json::json!({"code": 0, "message": "请求成功", "userID": "u",
            "sdkAppID": "1400000000", "accType": "0", "userSig": "s"});
        let (d, _) = judge(step("log in (creator)"), &reply(login), &KNOWN);
        assert_eq!(whats(&d), ["field sdkAppID"]);
    }

    #[test]
    fn nested_arrays_are_walked() {
        let body = serde_json::json!({"code": 0, "message": "请求成功", "rooms": [
            {"roomID": "room_1", "roomName": "n", "roomCreator": "user_a", "mixedPlayURL": "u",
             "pushers": [{"userID": "user_a", "userName": "A", "userAvatar": "x"}]}]});
        let (d, _) = judge(step("the room list"), &reply(body), &KNOWN);
        assert_eq!(whats(&d), ["field rooms[0].pushers[0].accelerateURL"]);
    }

    #[test]
    fn membership_and_the_room_list_are_checked() {
        let one = serde_json::json!({"code": 0, "message": "请求成功",
            "pushers": [{"userID": "user_b", "userName": "B", "userAvatar": "x", "accelerateURL": "u"},
                        {"userID": "user_a", "userName": "A", "userAvatar": "x", "accelerateURL": "u"}]});
        let (d, _) = judge(step("both are listed"), &reply(one), &KNOWN);
        assert_eq!(whats(&d), ["pushers"], "the creator must come first");
        let none = serde_json::json!({"code": 0, "message": "请求成功", "rooms": []});
        assert_eq!(
            whats(&judge(step("the room list"), &reply(none), &KNOWN).0),
            ["rooms"]
        );
    }

    #[test]
    fn ext_answers_and_the_originals_404_both_pass() {
        let text = step("a room text message");
        assert_eq!(text.endpoint, Endpoint::SendRoomTextMsg);
        let not_found = RawReply {
            status: 404,
            content_type: Some("text/plain".into()),
            body: b"Not Found".to_vec(),
        };
        assert_eq!(judge(text, &not_found, &KNOWN).0, vec![]);
        let ok = serde_json::json!({"code": 0, "message": "请求成功"});
        assert_eq!(judge(text, &reply(ok), &KNOWN).0, vec![]);
        let (d, _) = judge(step("get_pushers of an unknown"), &not_found, &KNOWN);
        assert_eq!(whats(&d), ["HTTP status"]);
        let auth = serde_json::json!({"code": 7, "message": "身份验证失败"});
        assert_eq!(
            judge(step("heartbeat carrying"), &reply(auth), &KNOWN).0,
            vec![]
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_reported_once() {
        let r = RawReply {
            status: 200,
            content_type: Some(ORIGINAL_CONTENT_TYPE.into()),
            body: b"<html>".to_vec(),
        };
        let (d, body) = judge(step("log in (creator)"), &r, &KNOWN);
        assert_eq!(whats(&d), ["body"]);
        assert!(body.is_none());
    }
}
