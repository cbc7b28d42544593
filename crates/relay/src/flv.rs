//! HTTP-FLV with no I/O: the request head a player sends, the answer it gets, and the stream's
//! messages framed as FLV tags (in HTTP/1.1 chunks). The tokio shell is `http_flv`.
//!
//! Only what a player needs is understood: `GET /{app}/{stream}.flv?{query}` (the query is the
//! RTMP play URL's, so the same signature check applies) and the CORS preflight a browser may
//! send first. Everything else is answered with a status and the connection closed.

use bytes::Bytes;

use crate::media::Media;
use crate::outbound::Outbound;

/// Largest request head, in bytes: a player's GET with a signed query is a few hundred bytes and
/// a browser's headers 1–2 KiB.
pub const FLV_MAX_HEAD_BYTES: usize = 8 * 1024;
/// Most header fields in a request head: browsers send about 20.
pub const FLV_MAX_HEADERS: usize = 64;

/// The FLV file header (version 1, audio and video present, 9 bytes) and the first
/// `PreviousTagSize` (0). Both flags are set before the first tag is known, as live servers do:
/// every stream a room carries has both.
pub(crate) const FLV_FILE_HEADER: [u8; 13] = [b'F', b'L', b'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0];
/// Bytes of an FLV tag header.
const TAG_HEADER_LEN: usize = 11;
/// Bytes of the `PreviousTagSize` field after each tag.
const PREVIOUS_TAG_SIZE_LEN: usize = 4;
/// Largest tag body FLV can describe (a 24-bit size).
const MAX_TAG_BODY: usize = (1 << 24) - 1;
/// The end of a chunked body.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// What is wrong with a request head.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HeadError {
    /// Not `METHOD SP TARGET SP HTTP/1.x`, or a header line without a colon.
    #[error("malformed HTTP request head")]
    Malformed,
    /// More header fields than [`FLV_MAX_HEADERS`].
    #[error("more than {FLV_MAX_HEADERS} header fields")]
    TooManyHeaders,
    /// Not HTTP/1.0 or HTTP/1.1.
    #[error("unsupported HTTP version")]
    Version,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request<'a> {
    /// The method, as sent.
    pub method: &'a str,
    /// The request target (path and query).
    pub target: &'a str,
    /// Whether the client speaks HTTP/1.1 (so the body may be chunked).
    pub http11: bool,
}

/// Where the end of a request head (`\r\n\r\n`) is in `buf`: the head's length with it.
pub(crate) fn head_len(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Parses a whole request head (up to and including the blank line).
pub(crate) fn parse_head(head: &[u8], max_headers: usize) -> Result<Request<'_>, HeadError> {
    let text = std::str::from_utf8(head).map_err(|_| HeadError::Malformed)?;
    let mut lines = text.split("\r\n");
    let line = lines.next().ok_or(HeadError::Malformed)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed);
    };
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(HeadError::Version),
    };
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic());
    if !token(method) || !target.starts_with('/') || target.bytes().any(|b| b.is_ascii_control()) {
        return Err(HeadError::Malformed);
    }
    let mut headers = 0;
    for field in lines.take_while(|l| !l.is_empty()) {
        headers += 1;
        if headers > max_headers {
            return Err(HeadError::TooManyHeaders);
        }
        match field.split_once(':') {
            Some((name, _)) if !name.is_empty() && !name.contains([' ', '\t']) => {}
            _ => return Err(HeadError::Malformed),
        }
    }
    Ok(Request {
        method,
        target,
        http11,
    })
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// Play the stream named `raw` (`{stream}?{query}`, as an RTMP play would name it).
    Play {
        /// The stream name with its query.
        raw: String,
    },
    /// A CORS preflight (`OPTIONS`).
    Preflight,
    /// No such resource.
    NotFound,
    /// A method other than GET or OPTIONS.
    MethodNotAllowed,
}

/// Routes `request` for a relay serving application `app`.
pub(crate) fn route(request: &Request<'_>, app: &str) -> Route {
    match request.method {
        "GET" => {}
        "OPTIONS" => return Route::Preflight,
        _ => return Route::MethodNotAllowed,
    }
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target, ""));
    let stream = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(app))
        .and_then(|p| p.strip_prefix('/'))
        .and_then(|p| p.strip_suffix(".flv"));
    match stream {
        Some(s) if !s.is_empty() && !s.contains('/') => Route::Play {
            raw: if query.is_empty() {
                s.to_owned()
            } else {
                format!("{s}?{query}")
            },
        },
        _ => Route::NotFound,
    }
}

/// The statuses the relay answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// 200: the stream follows.
    Ok,
    /// 204: an answer to a preflight.
    NoContent,
    /// 400: the head is malformed.
    BadRequest,
    /// 403: the play signature is missing, wrong or expired.
    Forbidden,
    /// 404: no such stream (or it is not live).
    NotFound,
    /// 405: not GET or OPTIONS.
    MethodNotAllowed,
    /// 431: the head is larger than [`FLV_MAX_HEAD_BYTES`].
    HeadTooLarge,
    /// 503: the connection limit is reached.
    Unavailable,
    /// 505: not HTTP/1.x.
    VersionNotSupported,
}

impl Status {
    fn line(self) -> &'static str {
        match self {
            Status::Ok => "200 OK",
            Status::NoContent => "204 No Content",
            Status::BadRequest => "400 Bad Request",
            Status::Forbidden => "403 Forbidden",
            Status::NotFound => "404 Not Found",
            Status::MethodNotAllowed => "405 Method Not Allowed",
            Status::HeadTooLarge => "431 Request Header Fields Too Large",
            Status::Unavailable => "503 Service Unavailable",
            Status::VersionNotSupported => "505 HTTP Version Not Supported",
        }
    }
}

impl From<HeadError> for Status {
    fn from(e: HeadError) -> Status {
        match e {
            HeadError::Malformed | HeadError::TooManyHeaders => Status::BadRequest,
            HeadError::Version => Status::VersionNotSupported,
        }
    }
}

/// Headers every answer carries: players fetch cross-origin (flv.js in a page of another site),
/// and a live stream must not be cached.
const COMMON_HEADERS: &str = "Access-Control-Allow-Origin: *\r\n\
                              Cache-Control: no-cache, no-store\r\n\
                              Connection: close\r\n";

/// The head of a 200 answer whose body is the FLV stream: chunked for HTTP/1.1, else
/// delimited by the connection's end.
pub(crate) fn stream_head(chunked: bool) -> Vec<u8> {
    let framing = if chunked {
        "Transfer-Encoding: chunked\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {}\r\nContent-Type: video/x-flv\r\n{COMMON_HEADERS}{framing}\r\n",
        Status::Ok.line()
    )
    .into_bytes()
}

/// A whole answer with no stream: the status, and its reason as a short text body.
pub(crate) fn answer(status: Status) -> Vec<u8> {
    if status == Status::NoContent {
        return format!(
            "HTTP/1.1 {}\r\n{COMMON_HEADERS}Access-Control-Allow-Methods: GET, OPTIONS\r\n\
             Access-Control-Allow-Headers: *\r\nAccess-Control-Max-Age: 86400\r\n\r\n",
            status.line()
        )
        .into_bytes();
    }
    let body = format!("{}\n", status.line());
    format!(
        "HTTP/1.1 {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         {COMMON_HEADERS}\r\n{body}",
        status.line(),
        body.len()
    )
    .into_bytes()
}

/// Appends `bytes` as one piece of the body (one chunk when `chunked`).
pub(crate) fn push_body(out: &mut Outbound, bytes: Bytes, chunked: bool) {
    if bytes.is_empty() {
        return;
    }
    if chunked {
        out.push_vec(format!("{:X}\r\n", bytes.len()).into_bytes());
        out.push(bytes);
        out.push(Bytes::from_static(b"\r\n"));
    } else {
        out.push(bytes);
    }
}

/// Appends `media` as one FLV tag (one chunk when `chunked`), sharing its payload rather than
/// copying it; false (and nothing appended) for a body too large for FLV.
pub(crate) fn push_tag(out: &mut Outbound, media: &Media, chunked: bool) -> bool {
    let len = media.payload.len();
    if len > MAX_TAG_BODY {
        return false;
    }
    let tag_len = TAG_HEADER_LEN + len;
    let ts = media.timestamp;
    let mut head = Vec::with_capacity(10 + TAG_HEADER_LEN);
    if chunked {
        head.extend_from_slice(format!("{:X}\r\n", tag_len + PREVIOUS_TAG_SIZE_LEN).as_bytes());
    }
    head.push(media.type_id());
    head.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    // FLV keeps the low 24 bits of the timestamp first and the high 8 after them.
    head.extend_from_slice(&ts.to_be_bytes()[1..]);
    head.push((ts >> 24) as u8);
    head.extend_from_slice(&[0, 0, 0]);
    out.push_vec(head);
    out.push(media.payload.clone());
    let mut tail = (tag_len as u32).to_be_bytes().to_vec();
    if chunked {
        tail.extend_from_slice(b"\r\n");
    }
    out.push_vec(tail);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaKind;

    fn head(s: &str) -> Result<Request<'_>, HeadError> {
        parse_head(s.as_bytes(), FLV_MAX_HEADERS)
    }

    #[test]
    fn a_players_get_is_routed_to_its_stream_with_the_query() {
        let raw = "GET /live/8888_u.flv?txSecret=ab&txTime=5F HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(head_len(raw.as_bytes()), Some(raw.len()));
        let req = head(raw).unwrap();
        assert!(req.http11);
        assert_eq!(
            route(&req, "live"),
            Route::Play {
                raw: "8888_u?txSecret=ab&txTime=5F".into()
            }
        );
        let req = head("GET /live/8888_u.flv HTTP/1.0\r\n\r\n").unwrap();
        assert!(!req.http11);
        assert_eq!(
            route(&req, "live"),
            Route::Play {
                raw: "8888_u".into()
            }
        );
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        for target in [
            "/live/.flv",
            "/live/a/b.flv",
            "/other/a.flv",
            "/livex/a.flv",
            "/live/a.mp4",
            "/",
        ] {
            let raw = format!("GET {target} HTTP/1.1\r\n\r\n");
            assert_eq!(
                route(&head(&raw).unwrap(), "live"),
                Route::NotFound,
                "{target}"
            );
        }
        let post = head("POST /live/a.flv HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(route(&post, "live"), Route::MethodNotAllowed);
        let pre = head("OPTIONS /live/a.flv HTTP/1.1\r\nOrigin: http://x\r\n\r\n").unwrap();
        assert_eq!(route(&pre, "live"), Route::Preflight);
    }

    #[test]
    fn malformed_heads_are_told_apart() {
        assert_eq!(head("GET /a HTTP/2\r\n\r\n"), Err(HeadError::Version));
        for bad in [
            "GET /a\r\n\r\n",
            "GET  /a HTTP/1.1\r\n\r\n",
            "G3T /a HTTP/1.1\r\n\r\n",
            "GET a HTTP/1.1\r\n\r\n",
            "GET /a HTTP/1.1\r\nno colon\r\n\r\n",
            "GET /a HTTP/1.1\r\nbad name: x\r\n\r\n",
            "GET /a\x01 HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(head(bad), Err(HeadError::Malformed), "{bad:?}");
        }
        assert!(parse_head(b"GET /\xff HTTP/1.1\r\n\r\n", 1).is_err());
        let many = format!("GET /a HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(3));
        assert_eq!(
            parse_head(many.as_bytes(), 2),
            Err(HeadError::TooManyHeaders)
        );
        assert!(parse_head(many.as_bytes(), 3).is_ok());
        assert_eq!(
            Status::from(HeadError::Version),
            Status::VersionNotSupported
        );
    }

    #[test]
    fn answers_allow_any_origin_and_close() {
        for status in [Status::Forbidden, Status::NotFound, Status::NoContent] {
            let text = String::from_utf8(answer(status)).unwrap();
            assert!(text.starts_with("HTTP/1.1 "), "{text}");
            assert!(
                text.contains("Access-Control-Allow-Origin: *\r\n"),
                "{text}"
            );
            assert!(text.contains("Connection: close\r\n"), "{text}");
        }
        let forbidden = String::from_utf8(answer(Status::Forbidden)).unwrap();
        let (head, body) = forbidden.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        let ok = String::from_utf8(stream_head(true)).unwrap();
        assert!(ok.contains("Transfer-Encoding: chunked\r\n") && ok.contains("video/x-flv"));
        assert!(
            !String::from_utf8(stream_head(false))
                .unwrap()
                .contains("chunked")
        );
    }

    #[test]
    fn a_message_becomes_one_tag_in_one_chunk() {
        let media = Media::new(
            MediaKind::Video,
            0x0123_4567,
            Bytes::from_static(&[0x17, 1, 2]),
        );
        let mut out = Outbound::default();
        assert!(push_tag(&mut out, &media, true));
        let bytes = out.take_all();
        // 11 + 3 + 4 = 18 = 0x12.
        assert!(bytes.starts_with(b"12\r\n"));
        assert!(bytes.ends_with(b"\r\n"));
        let tag = &bytes[4..bytes.len() - 2];
        assert_eq!(tag.len(), 18);
        assert_eq!(&tag[..11], &[9, 0, 0, 3, 0x23, 0x45, 0x67, 0x01, 0, 0, 0]);
        assert_eq!(&tag[11..14], &[0x17, 1, 2]);
        assert_eq!(&tag[14..], &14u32.to_be_bytes());

        let mut plain = Outbound::default();
        push_tag(&mut plain, &media, false);
        assert_eq!(plain.take_all(), tag);
        push_body(&mut plain, Bytes::from_static(&FLV_FILE_HEADER), true);
        assert!(plain.take_all().starts_with(b"D\r\nFLV"));
    }
}
