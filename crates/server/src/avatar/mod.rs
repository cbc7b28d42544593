//! Default avatars: a member who set no picture (`quartet:initials`, or nothing) is shown as its
//! initials on a colour, a PNG this server draws, so any client (a mini-program's `<image>`
//! included) shows an image.
//!
//! The image's URL holds everything it depends on, so serving it needs no state and it can be
//! cached for good: `/weapp/avatar/{colour}-{initials}.png`, the colour an index into
//! [`PALETTE`] chosen from the member's `userID` and the initials percent-encoded UTF-8.
//!
//! Initials are grapheme clusters (what a reader sees as one character, so a combined accent or
//! a flag stays whole): the first of the name's first word and the first of its last word,
//! letters in upper case. "小明 Ann" → "小A", "ann lee" → "AL", "王小明" → "王", "" → "?".
//!
//! The answers of the room API name the image as an absolute URL: the room server builds it
//! from the request's `Host` (and `X-Forwarded-Proto`), the address the asking client reached
//! it at, as the server knows no public address of its own.

mod render;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use unicode_segmentation::UnicodeSegmentation;

pub use render::AVATAR_SIZE;

/// What a client sends for "no picture: draw my initials".
pub const PLACEHOLDER: &str = quartet_proto::limits::INITIALS_AVATAR;
/// Where the images are served.
pub const AVATAR_PATH: &str = "/weapp/avatar";
/// Most grapheme clusters of initials.
pub const MAX_INITIALS: usize = 2;
/// Longest grapheme cluster accepted, in bytes: a flag or a letter with a few accents fits; more
/// only makes the renderer work.
pub const MAX_GRAPHEME_BYTES: usize = 16;
/// Longest file name of an avatar, in bytes (after percent-decoding): a colour, a dash, two of
/// the longest graphemes and `.png`.
pub const MAX_FILE_BYTES: usize = 2 + MAX_INITIALS * MAX_GRAPHEME_BYTES + 4;
/// Longest `Host` header the URLs are built from: a DNS name (253) and a port.
pub const MAX_HOST_BYTES: usize = 262;
/// How long clients and proxies may keep an avatar: the URL names everything it shows, so for
/// good.
pub const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// Background colours (white initials read well on each).
pub const PALETTE: [[u8; 3]; 8] = [
    [0xE5, 0x39, 0x35],
    [0xD8, 0x1B, 0x60],
    [0x8E, 0x24, 0xAA],
    [0x39, 0x49, 0xAB],
    [0x1E, 0x88, 0xE5],
    [0x00, 0x89, 0x7B],
    [0x43, 0xA0, 0x47],
    [0xF4, 0x51, 0x1E],
];
/// Initials of a name with nothing to take them from.
const NO_INITIALS: &str = "?";

/// Why an avatar path names no image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvatarError {
    /// Not `{colour}-{initials}.png` within the limits.
    #[error("not an avatar name: {0}")]
    BadName(&'static str),
}

/// One avatar: what the image shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarKey {
    /// Index into [`PALETTE`].
    pub colour: usize,
    /// One or two grapheme clusters.
    pub initials: String,
}

impl AvatarKey {
    /// The avatar of the member `user_id` named `user_name`.
    pub fn of(user_id: &str, user_name: &str) -> AvatarKey {
        AvatarKey {
            colour: colour_of(user_id),
            initials: initials(user_name),
        }
    }

    /// Its file name under [`AVATAR_PATH`], percent-encoded.
    pub fn file_name(&self) -> String {
        format!("{}-{}.png", self.colour, percent_encode(&self.initials))
    }

    /// Reads a (percent-decoded) file name, strictly: only what [`AvatarKey::file_name`] could
    /// have produced for some name passes.
    pub fn parse(file: &str) -> Result<AvatarKey, AvatarError> {
        if file.len() > MAX_FILE_BYTES {
            return Err(AvatarError::BadName("too long"));
        }
        let stem = file
            .strip_suffix(".png")
            .ok_or(AvatarError::BadName("not .png"))?;
        let (colour, initials) = stem
            .split_once('-')
            .ok_or(AvatarError::BadName("no colour"))?;
        let colour = match colour.as_bytes() {
            [d @ b'0'..=b'9'] if usize::from(d - b'0') < PALETTE.len() => usize::from(d - b'0'),
            _ => return Err(AvatarError::BadName("no such colour")),
        };
        let graphemes: Vec<&str> = initials.graphemes(true).collect();
        if graphemes.is_empty() || graphemes.len() > MAX_INITIALS {
            return Err(AvatarError::BadName("one or two initials"));
        }
        if graphemes.iter().any(|g| g.len() > MAX_GRAPHEME_BYTES) {
            return Err(AvatarError::BadName("initial too long"));
        }
        if initials
            .chars()
            .any(|c| c.is_whitespace() || quartet_proto::limits::is_forbidden_in_name(c))
        {
            return Err(AvatarError::BadName("forbidden character"));
        }
        Ok(AvatarKey {
            colour,
            initials: initials.to_owned(),
        })
    }
}

/// The initials of `name` (see the module's doc).
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name
        .split_whitespace()
        .filter(|w| !w.chars().all(quartet_proto::limits::is_forbidden_in_name))
        .collect();
    let first = |word: &str| {
        word.graphemes(true)
            .find(|g| g.len() <= MAX_GRAPHEME_BYTES && !g.chars().any(is_hidden))
            .map(|g| g.to_uppercase())
    };
    let mut out: String = words.first().and_then(|w| first(w)).unwrap_or_default();
    if words.len() > 1
        && let Some(last) = words.last().and_then(|w| first(w))
    {
        out.push_str(&last);
    }
    // Upper-casing may lengthen a grapheme (ß → SS); keep within the limits.
    let kept: String = out.graphemes(true).take(MAX_INITIALS).collect();
    if kept.is_empty() || AvatarKey::parse(&format!("0-{kept}.png")).is_err() {
        NO_INITIALS.to_owned()
    } else {
        kept
    }
}

fn is_hidden(c: char) -> bool {
    quartet_proto::limits::is_forbidden_in_name(c) || c.is_whitespace()
}

/// The colour of member `user_id`: stable, and spread over [`PALETTE`] (FNV-1a).
pub fn colour_of(user_id: &str) -> usize {
    let hash = user_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (hash % PALETTE.len() as u64) as usize
}

/// Percent-encodes all but unreserved ASCII (RFC 3986), so the name is one path segment.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `avatar` asks for the default image.
pub fn is_placeholder(avatar: &str) -> bool {
    avatar.trim().is_empty() || avatar.starts_with("quartet:")
}

/// `scheme://host` of the server as the asking client reached it, from the request's `Host` and
/// `X-Forwarded-Proto`; `None` when there is no usable `Host`.
pub fn origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let valid = !host.is_empty()
        && host.len() <= MAX_HOST_BYTES
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !valid {
        return None;
    }
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let scheme = if https { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}

/// Replaces every placeholder `userAvatar` in `body` (a member with its `userID` and
/// `userName` beside it, at any depth) with the absolute URL of its default image.
pub fn resolve(body: &mut serde_json::Map<String, Value>, origin: &str) {
    let placeholder = matches!(body.get("userAvatar"), Some(Value::String(a)) if is_placeholder(a));
    if placeholder && let Some(Value::String(user_id)) = body.get("userID") {
        let name = match body.get("userName") {
            Some(Value::String(n)) => n.as_str(),
            _ => "",
        };
        let url = format!(
            "{origin}{AVATAR_PATH}/{}",
            AvatarKey::of(user_id, name).file_name()
        );
        body.insert("userAvatar".into(), Value::String(url));
    }
    for value in body.values_mut() {
        match value {
            Value::Object(inner) => resolve(inner, origin),
            Value::Array(items) => items.iter_mut().for_each(|item| {
                if let Value::Object(inner) = item {
                    resolve(inner, origin);
                }
            }),
            _ => {}
        }
    }
}

/// Answers `GET {AVATAR_PATH}/{file}`: the PNG, or 404 for a name that is no avatar's.
pub async fn serve(method: Method, file: &str) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut r = StatusCode::METHOD_NOT_ALLOWED.into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let key = match AvatarKey::parse(file) {
        Ok(key) => key,
        Err(e) => return (StatusCode::NOT_FOUND, e.to_string()).into_response(),
    };
    match render::png(key).await {
        Ok(png) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, CACHE_CONTROL),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            png,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "avatar not drawn");
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_and_last_words_first_graphemes() {
        for (name, want) in [
            ("小明 Ann", "小A"),
            ("ann lee", "AL"),
            ("Ann Marie Lee", "AL"),
            ("王小明", "王"),
            ("  émile  ", "É"),
            ("e\u{301}mile zola", "E\u{301}Z"),
            ("🇫🇷 Paris", "🇫🇷P"),
            ("", "?"),
            ("   ", "?"),
            ("\u{202e}", "?"),
        ] {
            assert_eq!(initials(name), want, "{name:?}");
        }
    }

    #[test]
    fn a_key_survives_its_file_name() {
        for (id, name) in [
            ("u1", "小明 Ann"),
            ("u2", "ann"),
            ("u3", "🇫🇷 Paris"),
            ("u4", ""),
        ] {
            let key = AvatarKey::of(id, name);
            let file = key.file_name();
            assert!(file.is_ascii() && !file.contains('/'), "{file}");
            let decoded = percent_decode(&file);
            assert_eq!(AvatarKey::parse(&decoded), Ok(key), "{name:?}");
        }
        assert_eq!(
            AvatarKey::of("u1", "小明 Ann").file_name(),
            format!("{}-%E5%B0%8FA.png", colour_of("u1"))
        );
    }

    fn percent_decode(s: &str) -> String {
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn hostile_names_are_refused() {
        let long = format!("0-{}.png", "a".repeat(MAX_FILE_BYTES));
        for bad in [
            "",
            "0-A",
            "0-.png",
            "8-A.png",
            "00-A.png",
            "x-A.png",
            "-A.png",
            "0-ABC.png",
            "0-A B.png",
            "0-\u{202e}A.png",
            "0-\n.png",
            "0-../A.png",
            &long,
        ] {
            assert!(AvatarKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(AvatarKey::parse("7-小A.png").is_ok());
    }

    #[test]
    fn colours_are_stable_and_spread() {
        assert_eq!(colour_of("user_1"), colour_of("user_1"));
        let used: std::collections::HashSet<usize> =
            (0..64).map(|i| colour_of(&format!("user_{i}"))).collect();
        assert!(used.len() >= PALETTE.len() - 1, "{used:?}");
    }

    #[test]
    fn placeholders_become_urls_of_the_origin_and_pictures_stay() {
        let mut body = serde_json::json!({
            "pushers": [
                {"userID": "u1", "userName": "Ann Lee", "userAvatar": PLACEHOLDER},
                {"userID": "u2", "userName": "Bo", "userAvatar": ""},
                {"userID": "u3", "userName": "Cy", "userAvatar": "https://pic/x.png"},
            ],
            "rooms": [{"pushers": [{"userID": "u4", "userName": "小明", "userAvatar": "quartet:initials"}]}],
        });
        resolve(body.as_object_mut().unwrap(), "http://h:8080");
        let p = &body["pushers"];
        assert_eq!(
            p[0]["userAvatar"],
            format!("http://h:8080/weapp/avatar/{}-AL.png", colour_of("u1"))
        );
        assert!(p[1]["userAvatar"].as_str().unwrap().ends_with("-B.png"));
        assert_eq!(p[2]["userAvatar"], "https://pic/x.png");
        let nested = body["rooms"][0]["pushers"][0]["userAvatar"]
            .as_str()
            .unwrap();
        assert!(nested.ends_with("-%E5%B0%8F.png"), "{nested}");
    }

    #[test]
    fn the_origin_comes_from_a_sane_host_header() {
        let mut h = HeaderMap::new();
        assert_eq!(origin(&h), None);
        h.insert(header::HOST, HeaderValue::from_static("192.168.1.5:8080"));
        assert_eq!(origin(&h).as_deref(), Some("http://192.168.1.5:8080"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(origin(&h).as_deref(), Some("https://192.168.1.5:8080"));
        for bad in ["a/b", "a b", "evil.com/x?", "h\"x"] {
            h.insert(header::HOST, HeaderValue::from_static(bad));
            assert_eq!(origin(&h), None, "{bad}");
        }
    }
}
