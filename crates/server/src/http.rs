//! The HTTP face of the server: routes, body decoding, and `{code, message}` answers for
//! requests that never reach an endpoint.

use crate::answer::{bearer_token, json_error, json_response};
use crate::avatar;
use crate::events;
use crate::server::Server;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use quartet_proto::{Code, Endpoint, Fields, FieldsError, Reply, RoomKind};

/// Path segment of the event channel under `/weapp/{kind}/`.
pub const EVENTS_SEGMENT: &str = "events";
/// Media type of form-encoded bodies, which v1 also accepted.
const FORM_TYPE: &str = "application/x-www-form-urlencoded";

/// Every route of the room server, ready to serve or to test with `tower::ServiceExt::oneshot`.
pub fn router(server: Server) -> Router {
    let limit = server.config().max_body_bytes;
    Router::new()
        .route("/healthz", any(healthz))
        .route("/weapp/avatar/{file}", any(avatar_route))
        .route("/weapp/{kind}/events", any(events_route))
        .route("/weapp/{kind}/{endpoint}", any(endpoint_route))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(server)
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query?)
        .ok()?
        .into_iter()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v)
}

async fn healthz(State(server): State<Server>, method: Method) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET", "/healthz");
    }
    let mut body = Reply::ok_empty();
    body.body.insert("rooms".into(), server.room_count().into());
    json_response(StatusCode::OK, &body)
}

async fn not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        Code::BadParams,
        "no such route: room endpoints are POST /weapp/{multi_room|double_room|live_room}/{endpoint}",
    )
}

fn method_not_allowed(allow: &'static str, what: &str) -> Response {
    let mut response = json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        Code::BadParams,
        format!("{what} only answers {allow}"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// A path that names no room kind (or cannot be read): answered 404.
struct UnknownRoute(String);

impl IntoResponse for UnknownRoute {
    fn into_response(self) -> Response {
        json_error(StatusCode::NOT_FOUND, Code::BadParams, self.0)
    }
}

fn parse_kind(
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(RoomKind, String), UnknownRoute> {
    let Path((kind, endpoint)) = path.map_err(|e| UnknownRoute(format!("unreadable path: {e}")))?;
    let kind = kind
        .parse::<RoomKind>()
        .map_err(|e| UnknownRoute(e.to_string()))?;
    Ok((kind, endpoint))
}

async fn events_route(
    State(server): State<Server>,
    path: Result<Path<(String,)>, PathRejection>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let path = path.map(|Path((kind,))| Path((kind, EVENTS_SEGMENT.to_owned())));
    let kind = match parse_kind(path) {
        Ok((kind, _)) => kind,
        Err(unknown) => return unknown.into_response(),
    };
    if !server.config().events {
        return json_error(
            StatusCode::NOT_FOUND,
            Code::BadParams,
            "this server has no event channel: poll get_pushers",
        );
    }
    if method != Method::GET {
        return method_not_allowed("GET", &format!("/weapp/{kind}/{EVENTS_SEGMENT}"));
    }
    events::open(server, kind, query, headers, upgrade).await
}

async fn endpoint_route(
    State(server): State<Server>,
    path: Result<Path<(String, String)>, PathRejection>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (kind, endpoint) = match parse_kind(path) {
        Ok(found) => found,
        Err(unknown) => return unknown.into_response(),
    };
    let endpoint = match endpoint.parse::<Endpoint>() {
        Ok(Endpoint::MergeStream) if kind != RoomKind::LiveRoom => {
            return UnknownRoute(format!(
                "merge_stream exists only under live_room, not {kind}"
            ))
            .into_response();
        }
        Ok(endpoint) => endpoint,
        Err(e) => return UnknownRoute(format!("{e} under {kind}")).into_response(),
    };
    if method != Method::POST {
        return method_not_allowed("POST", &format!("/weapp/{kind}/{endpoint}"));
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::BadParams,
                format!(
                    "request body exceeds {} bytes",
                    server.config().max_body_bytes
                ),
            );
        }
        Err(rejection) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                Code::BadParams,
                format!("could not read the body: {rejection}"),
            );
        }
    };
    let fields = match decode_body(&headers, &body) {
        Ok(fields) => fields,
        Err(e) => {
            return json_error(StatusCode::BAD_REQUEST, Code::BadParams, format!("{e}"));
        }
    };
    let token = fields
        .optional("userSig")
        .or_else(|| bearer_token(&headers))
        .or_else(|| query_param(query.as_deref(), "userSig"));
    let mut reply = server
        .handle(kind, endpoint, &fields, token.as_deref())
        .await;
    // Only here is the address the client reached known: default avatars become its URLs.
    if let Some(origin) = avatar::origin(&headers) {
        avatar::resolve(&mut reply.body, &origin);
    }
    json_response(StatusCode::OK, &reply)
}

async fn avatar_route(path: Result<Path<(String,)>, PathRejection>, method: Method) -> Response {
    match path {
        Ok(Path((file,))) => avatar::serve(method, &file).await,
        Err(e) => UnknownRoute(format!("unreadable avatar path: {e}")).into_response(),
    }
}

/// Why a body could not be read as fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BodyError {
    /// Not a JSON object.
    #[error("malformed JSON body: {0}")]
    Json(String),
    /// Not form data.
    #[error("malformed form body: {0}")]
    Form(String),
}

/// A body as fields: form data when it says so, JSON otherwise (v1 clients always sent JSON,
/// some without a content type).
pub(crate) fn decode_body(headers: &HeaderMap, body: &[u8]) -> Result<Fields, BodyError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(FORM_TYPE));
    if is_form {
        return serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map(Fields::from_pairs)
            .map_err(|e| BodyError::Form(e.to_string()));
    }
    Fields::from_json(body).map_err(|e| match e {
        FieldsError::Body(reason) => BodyError::Json(reason),
        other => BodyError::Json(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_blank_ones_ignored() {
        assert_eq!(
            bearer_token(&headers(&[(header::AUTHORIZATION, "Bearer abc.1.x")])),
            Some("abc.1.x".into())
        );
        assert_eq!(
            bearer_token(&headers(&[(header::AUTHORIZATION, "bearer  t ")])),
            Some("t".into())
        );
        assert_eq!(
            bearer_token(&headers(&[(header::AUTHORIZATION, "Basic dTpw")])),
            None
        );
        assert_eq!(
            bearer_token(&headers(&[(header::AUTHORIZATION, "Bearer ")])),
            None
        );
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn bodies_decode_by_content_type() {
        let form = headers(&[(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )]);
        let f = decode_body(&form, b"roomID=r%201&index=0").unwrap();
        assert_eq!(f.required("roomID").unwrap(), "r 1");
        let json = headers(&[(header::CONTENT_TYPE, "application/json")]);
        assert_eq!(
            decode_body(&json, br#"{"roomID":"r"}"#)
                .unwrap()
                .required("roomID")
                .unwrap(),
            "r"
        );
        assert!(decode_body(&HeaderMap::new(), br#"{"roomID":"r"}"#).is_ok());
        assert!(matches!(
            decode_body(&json, b"{\"roomID\":"),
            Err(BodyError::Json(_))
        ));
        assert!(matches!(decode_body(&json, b"[]"), Err(BodyError::Json(_))));
    }

    #[test]
    fn query_params_are_decoded() {
        assert_eq!(
            query_param(Some("a=1&userSig=x%2By"), "userSig"),
            Some("x+y".into())
        );
        assert_eq!(query_param(Some("userSig="), "userSig"), None);
        assert_eq!(query_param(None, "userSig"), None);
    }
}
