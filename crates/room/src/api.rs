//! A typed client of the room API: one method per endpoint, each a JSON `POST` to
//! `{base}/weapp/{kind}/{endpoint}` whose `{code, message, ...}` reply becomes a proto type.

use crate::journal::{self, ApiCall, Journal};
use quartet_proto::code::ReplyError;
use quartet_proto::nonce::NONCE_FIELD;
use quartet_proto::{
    AddPusher, Code, CreateRoom, CreatedRoom, DeletePusher, DestroyRoom, Endpoint, GetImLoginInfo,
    GetPushUrl, GetPushers, GetRoomList, HandOverRoom, HandedOver, LoginInfo, PushUrl,
    PusherHeartbeat, Pushers, Reply, Request, RoomKind, RoomList, RoomUser, SendRoomTextMsg,
};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Map, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use url::Url;

/// Longest a whole request may take before it counts as a transport failure.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the TCP (and TLS) connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most characters of a non-JSON error body kept in [`ApiError::Status`].
const MAX_STATUS_MESSAGE_CHARS: usize = 200;

/// A fresh `nonce` for a mutating request made now (v1 servers ignore it).
fn fresh_nonce() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let millis = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
    quartet_proto::nonce::make(millis, rand::random())
}

/// Why a call to the room API failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The client could not be set up (a base URL that is not http(s), or no TLS backend).
    #[error("cannot set up the room API client: {0}")]
    Setup(String),
    /// The server could not be reached or did not answer in time; worth retrying.
    #[error("room server unreachable: {0}")]
    Transport(#[source] reqwest::Error),
    /// The server answered with an HTTP status other than 200.
    #[error("room server answered HTTP {status}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The reply's `message`, or the start of the body when it was not JSON.
        message: String,
    },
    /// The server answered with a non-zero result code.
    #[error("room server answered code {} ({message})", code.as_i64())]
    Code {
        /// The result code.
        code: Code,
        /// The server's message.
        message: String,
    },
    /// The reply was not the JSON the endpoint promises.
    #[error("unexpected reply from the room server: {0}")]
    Decode(String),
}

impl ApiError {
    /// Whether trying again later may succeed: the server was unreachable or overloaded.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Transport(_) => true,
            ApiError::Status { status, .. } => matches!(status, 502..=504),
            ApiError::Setup(_) | ApiError::Code { .. } | ApiError::Decode(_) => false,
        }
    }

    /// The result code, when the server answered with one.
    pub fn code(&self) -> Option<Code> {
        match self {
            ApiError::Code { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A reply as the server sent it, for tools that judge a server's answers (`quartet check`).
#[derive(Debug, Clone)]
pub struct RawReply {
    /// The HTTP status.
    pub status: u16,
    /// The `content-type` header, when there is one.
    pub content_type: Option<String>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

/// A client of one room kind on one server. Cheap to clone; clones share connections.
///
/// Its token travels only as an `Authorization: Bearer` header, and only once set: set it only
/// for a server that asked for it ([`quartet_proto::LoginInfo::wants_bearer_token`]); an
/// original v1 server reads no token and would write a body or URL carrying one to its logs.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    kind: RoomKind,
    user_sig: Option<String>,
    journal: Journal,
    bare: bool,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &quartet_proto::redact::Redacted(self.base.as_str()))
            .field("kind", &self.kind)
            .field(
                "user_sig",
                &self
                    .user_sig
                    .as_ref()
                    .map(|_| quartet_proto::redact::HIDDEN),
            )
            .finish()
    }
}

impl ApiClient {
    /// A client for `kind` rooms on the server at `base` (e.g. `http://127.0.0.1:8080/`).
    pub fn new(base: Url, kind: RoomKind) -> Result<Self, ApiError> {
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ApiError::Setup(format!(
                "server URL must be http:// or https://, got {base}"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| ApiError::Setup(e.to_string()))?;
        Ok(Self {
            http,
            base,
            kind,
            user_sig: None,
            journal: Journal::default(),
            bare: false,
        })
    }

    /// The same client sending only v1's fields, as the original mini-program client did: no
    /// token (in the body or a header) and no `nonce`, whatever [`ApiClient::set_user_sig`] says.
    pub fn bare(mut self) -> Self {
        self.bare = true;
        self
    }

    /// The server's base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The room kind this client speaks to.
    pub fn kind(&self) -> RoomKind {
        self.kind
    }

    /// The token sent with every call (as a bearer header), if any.
    pub fn user_sig(&self) -> Option<&str> {
        self.user_sig.as_deref()
    }

    /// Sets (or clears) the token sent with every call as a bearer header.
    pub fn set_user_sig(&mut self, user_sig: Option<String>) {
        self.user_sig = user_sig;
    }

    /// The same client sending `user_sig` as a bearer header.
    pub fn with_user_sig(mut self, user_sig: impl Into<String>) -> Self {
        self.user_sig = Some(user_sig.into());
        self
    }

    /// The URL of one endpoint (or of `events`) under this client's kind.
    pub fn endpoint_url(&self, endpoint: &str) -> Url {
        let mut url = self.base.clone();
        // `new` refused cannot-be-a-base URLs, so the segments are always editable.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["weapp", self.kind.as_str(), endpoint]);
        }
        url.set_query(None);
        url.set_fragment(None);
        url
    }

    /// Where this client (and its clones) record their calls.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The same client recording into `journal` (shared with whoever reads it).
    pub fn with_journal(mut self, journal: Journal) -> Self {
        self.journal = journal;
        self
    }

    /// Sends any request and reads its reply's fields as `T`, and records the call in the
    /// journal. A mutating request carries a fresh `nonce`, so a captured one cannot be replayed;
    /// the token, if set, goes in the `Authorization` header alone.
    pub async fn call<R: Request, T: DeserializeOwned>(&self, req: &R) -> Result<T, ApiError> {
        let at_ms = journal::now_ms();
        let started = Instant::now();
        let result = self.exchange(req).await;
        let (code, status, error) = match &result {
            Ok(_) => (Some(0), None, None),
            Err(ApiError::Code { code, message }) => {
                (Some(code.as_i64()), None, Some(message.clone()))
            }
            Err(ApiError::Status { status, message }) => {
                (None, Some(*status), Some(message.clone()))
            }
            Err(e) => (None, None, Some(e.to_string())),
        };
        self.journal.call(ApiCall {
            at_ms,
            endpoint: R::ENDPOINT.as_str().to_owned(),
            code,
            status,
            ms: started.elapsed().as_secs_f64() * 1000.0,
            error,
        });
        result
    }

    async fn exchange<R: Request, T: DeserializeOwned>(&self, req: &R) -> Result<T, ApiError> {
        let body = match serde_json::to_value(req) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(ApiError::Setup("request is not a JSON object".into())),
            Err(e) => return Err(ApiError::Setup(e.to_string())),
        };
        let raw = self.call_raw(R::ENDPOINT, body).await?;
        if raw.status != reqwest::StatusCode::OK.as_u16() {
            return Err(ApiError::Status {
                status: raw.status,
                message: status_message(&raw.body),
            });
        }
        let reply: Reply =
            serde_json::from_slice(&raw.body).map_err(|e| ApiError::Decode(e.to_string()))?;
        reply.into_body().map_err(|e| match e {
            ReplyError::Code { code, message } => ApiError::Code { code, message },
            ReplyError::Shape(s) => ApiError::Decode(s),
        })
    }

    /// Posts `body` to `endpoint` as [`ApiClient::call`] would (nonce and token added unless
    /// [`ApiClient::bare`]) and hands back the reply untouched, whatever its status.
    pub async fn call_raw(
        &self,
        endpoint: Endpoint,
        mut body: Map<String, Value>,
    ) -> Result<RawReply, ApiError> {
        if endpoint.is_mutating() && !self.bare {
            body.insert(NONCE_FIELD.into(), Value::String(fresh_nonce()));
        }
        let mut builder = self.http.post(self.endpoint_url(endpoint.as_str()));
        if let Some(sig) = self.user_sig.as_ref().filter(|_| !self.bare) {
            builder = builder.bearer_auth(sig);
        }
        let response = builder
            .json(&body)
            .send()
            .await
            .map_err(ApiError::Transport)?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let bytes = response.bytes().await.map_err(ApiError::Transport)?;
        tracing::trace!(%endpoint, %status, "room API reply");
        Ok(RawReply {
            status: status.as_u16(),
            content_type,
            body: bytes.to_vec(),
        })
    }

    /// `get_im_login_info`: a fresh userID and its token.
    pub async fn get_im_login_info(&self, user_id_prefix: &str) -> Result<LoginInfo, ApiError> {
        self.call(&GetImLoginInfo {
            user_id_prefix: user_id_prefix.to_owned(),
            code: None,
        })
        .await
    }

    /// `get_push_url`: the signed RTMP URL `user_id` must push to.
    pub async fn get_push_url(&self, user_id: &str) -> Result<PushUrl, ApiError> {
        self.call(&GetPushUrl {
            user_id: user_id.to_owned(),
            room_id: None,
        })
        .await
    }

    /// `get_push_url` with `roomID` (ext): the signed URL on room `room_id`'s relay, for a
    /// server that lists [`quartet_proto::EXT_ROOM_RELAY`].
    pub async fn get_room_push_url(
        &self,
        user_id: &str,
        room_id: &str,
    ) -> Result<PushUrl, ApiError> {
        self.call(&GetPushUrl {
            user_id: user_id.to_owned(),
            room_id: Some(room_id.to_owned()),
        })
        .await
    }

    /// `create_room`: a new room with the caller as creator and first member.
    pub async fn create_room(&self, req: &CreateRoom) -> Result<CreatedRoom, ApiError> {
        self.call(req).await
    }

    /// `destroy_room`: the creator closes its room.
    pub async fn destroy_room(&self, room_id: &str, user_id: &str) -> Result<(), ApiError> {
        self.call::<_, IgnoredAny>(&DestroyRoom(room_user(room_id, user_id)))
            .await
            .map(drop)
    }

    /// `hand_over_room` (ext): the creator leaves and the room passes to the member present
    /// longest (or closes, with nobody else in it).
    pub async fn hand_over_room(
        &self,
        room_id: &str,
        user_id: &str,
    ) -> Result<HandedOver, ApiError> {
        self.call(&HandOverRoom(room_user(room_id, user_id))).await
    }

    /// `add_pusher`: join a room, or refresh one's entry in it.
    pub async fn add_pusher(&self, req: &AddPusher) -> Result<(), ApiError> {
        self.call::<_, IgnoredAny>(req).await.map(drop)
    }

    /// `delete_pusher`: leave a room (the creator leaving closes it).
    pub async fn delete_pusher(&self, room_id: &str, user_id: &str) -> Result<(), ApiError> {
        self.call::<_, IgnoredAny>(&DeletePusher(room_user(room_id, user_id)))
            .await
            .map(drop)
    }

    /// `get_pushers`: the room's members, creator first.
    pub async fn get_pushers(&self, room_id: &str) -> Result<Pushers, ApiError> {
        self.call(&GetPushers {
            room_id: room_id.to_owned(),
        })
        .await
    }

    /// `pusher_heartbeat`: tells the server `user_id` is still in `room_id`.
    pub async fn pusher_heartbeat(&self, room_id: &str, user_id: &str) -> Result<(), ApiError> {
        self.call::<_, IgnoredAny>(&PusherHeartbeat(room_user(room_id, user_id)))
            .await
            .map(drop)
    }

    /// `get_room_list`: up to `cnt` rooms of this kind from offset `index`, oldest first.
    pub async fn get_room_list(&self, index: usize, cnt: usize) -> Result<RoomList, ApiError> {
        self.call(&GetRoomList { index, cnt }).await
    }

    /// `send_room_text_msg` (ext): broadcasts a text message to the room.
    pub async fn send_room_text_msg(&self, req: &SendRoomTextMsg) -> Result<(), ApiError> {
        self.call::<_, IgnoredAny>(req).await.map(drop)
    }
}

fn room_user(room_id: &str, user_id: &str) -> RoomUser {
    RoomUser {
        room_id: room_id.to_owned(),
        user_id: user_id.to_owned(),
    }
}

/// The most useful words of an error body: its JSON `message` (and `detail`), else its first
/// characters.
fn status_message(body: &[u8]) -> String {
    if let Ok(reply) = serde_json::from_slice::<Reply>(body) {
        return reply.explained();
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    text.chars().take(MAX_STATUS_MESSAGE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> ApiClient {
        ApiClient::new(Url::parse(base).unwrap(), RoomKind::MultiRoom).unwrap()
    }

    #[test]
    fn endpoint_urls_keep_a_base_path_and_drop_its_query() {
        assert_eq!(
            client("http://127.0.0.1:8080")
                .endpoint_url("get_pushers")
                .as_str(),
            "http://127.0.0.1:8080/weapp/multi_room/get_pushers"
        );
        assert_eq!(
            client("https://rooms.example/api/?x=1")
                .endpoint_url("add_pusher")
                .as_str(),
            "https://rooms.example/api/weapp/multi_room/add_pusher"
        );
    }

    #[test]
    fn nonces_are_fresh_and_well_formed() {
        let (a, b) = (fresh_nonce(), fresh_nonce());
        assert_ne!(a, b);
        let made = quartet_proto::nonce::parse(&a).unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(now.abs_diff(made) < 60_000, "{a} is not of now");
    }

    #[test]
    fn only_http_bases_are_accepted() {
        for bad in ["ws://h/", "mailto:a@b", "rtmp://h/live"] {
            let err = ApiClient::new(Url::parse(bad).unwrap(), RoomKind::LiveRoom).unwrap_err();
            assert!(matches!(err, ApiError::Setup(_)), "{bad}: {err}");
            assert!(!err.is_transient());
        }
    }

    #[test]
    fn gateway_statuses_are_transient_and_codes_are_not() {
        let status = |status| ApiError::Status {
            status,
            message: String::new(),
        };
        assert!(status(502).is_transient());
        assert!(status(503).is_transient());
        assert!(!status(404).is_transient());
        assert!(!status(500).is_transient());
        let code = ApiError::Code {
            code: Code::NoSuchRoom,
            message: "gone".into(),
        };
        assert!(!code.is_transient());
        assert_eq!(code.code(), Some(Code::NoSuchRoom));
        assert!(!ApiError::Decode("x".into()).is_transient());
    }

    #[test]
    fn status_messages_prefer_json_and_trim_html() {
        assert_eq!(
            status_message(br#"{"code":1,"message":"bad json"}"#),
            "bad json"
        );
        assert_eq!(
            status_message(
                r#"{"code":1,"message":"请求参数错误","detail":"no such route"}"#.as_bytes()
            ),
            "请求参数错误 (no such route)"
        );
        assert_eq!(status_message(b"  Not Found\n"), "Not Found");
        assert_eq!(status_message(b""), "(empty body)");
        let long = "x".repeat(1000);
        assert_eq!(
            status_message(long.as_bytes()).len(),
            MAX_STATUS_MESSAGE_CHARS
        );
    }
}
