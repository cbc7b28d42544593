//! JSON answers and the bearer token, shared by the HTTP routes and the event socket, so that
//! neither of those modules needs the other for them.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quartet_proto::{Code, Reply};

/// `content-type` of every JSON answer, as the original server sent it.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// `body` as JSON with `status`, typed [`JSON_CONTENT_TYPE`].
pub(crate) fn json_response(status: StatusCode, body: &Reply) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            )],
            bytes,
        )
            .into_response(),
        // A `Reply` is a map of JSON values: it always serializes.
        Err(e) => {
            tracing::error!(error = %e, "reply did not serialize");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// An answer that is not a plain HTTP 200: `status` with a `{code, message, detail}` body,
/// `message` being the original's text for `code` and `detail` saying why.
pub(crate) fn json_error(status: StatusCode, code: Code, detail: impl Into<String>) -> Response {
    json_response(status, &Reply::error_with(code, detail))
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}
