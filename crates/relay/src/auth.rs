//! Who may publish and play (spec §3): pure decisions over a stream key and the settings.

use quartet_proto::sign::{SignError, StreamKey, StreamSigner};

/// The room server's say on who may publish, asked for every publish that passed the signature
/// check (a first publish and a takeover alike).
pub trait PublishGate: Send + Sync + 'static {
    /// Whether the member owning `stream_id` may publish with a URL expiring at
    /// `expires_at_unix` (its `txTime`; 0 when unsigned). The room server refuses URLs issued
    /// before the member left, so a leaked URL dies with its member's membership.
    fn admit(&self, stream_id: &str, expires_at_unix: u64) -> bool;
}

impl std::fmt::Debug for dyn PublishGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublishGate")
    }
}

/// Longest stream id accepted (ids are `{bizid}_{userID}`).
pub(crate) const MAX_STREAM_ID_LEN: usize = 256;

/// Why a publish or play was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// The stream name is empty, too long or has characters no stream id has.
    #[error("stream name {0:?} is not a valid stream id")]
    BadName(String),
    /// The signature is missing, wrong, for another stream or expired.
    #[error(transparent)]
    Signature(#[from] SignError),
    /// The connection already publishes or plays.
    #[error("this connection already publishes or plays a stream")]
    Busy,
    /// The room server does not admit this member's publish with this URL (it left, say).
    #[error("the room does not admit publishing {0:?} with this URL")]
    NotAdmitted(String),
    /// A live publisher holds a URL expiring later than this one: an older URL cannot take over.
    #[error("stream is live with a URL expiring at unix {live}; this one expires at {offered}")]
    Stale {
        /// Expiry of the live publisher's URL.
        live: u64,
        /// Expiry of the refused URL.
        offered: u64,
    },
}

impl Refusal {
    /// The `onStatus` code a client is told.
    pub fn publish_code(&self) -> &'static str {
        match self {
            Refusal::BadName(_) => "NetStream.Publish.BadName",
            Refusal::Signature(_) | Refusal::NotAdmitted(_) => "NetStream.Publish.Unauthorized",
            Refusal::Busy => "NetStream.Publish.BadConnection",
            // What RTMP servers answer for "already publishing".
            Refusal::Stale { .. } => "NetStream.Publish.BadName",
        }
    }

    /// The `onStatus` code a player is told.
    pub fn play_code(&self) -> &'static str {
        match self {
            Refusal::BadName(_) => "NetStream.Play.StreamNotFound",
            Refusal::Signature(_) | Refusal::NotAdmitted(_) => "NetStream.Play.Unauthorized",
            Refusal::Busy | Refusal::Stale { .. } => "NetStream.Play.Failed",
        }
    }
}

/// Splits the raw stream name into its key and checks the id is one the relay can carry.
pub(crate) fn parse_key(raw: &str) -> Result<StreamKey, Refusal> {
    let key = StreamKey::parse(raw);
    let id = &key.stream_id;
    let valid = !id.is_empty()
        && id.len() <= MAX_STREAM_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | '\\' | '?' | '#' | '&'));
    if valid {
        Ok(key)
    } else {
        // Shown in logs: the query of the name is a signature, so only its names are kept.
        let shown = quartet_proto::redact::Redacted(raw).to_string();
        Err(Refusal::BadName(
            shown.chars().take(MAX_STREAM_ID_LEN).collect(),
        ))
    }
}

/// Whether `key` may publish at `now_unix_secs`. With a signer every publish, the first one
/// and a takeover of a live stream alike, needs a valid push signature for exactly this stream
/// id (a play URL is refused); without one (an open relay) anything goes.
pub(crate) fn may_publish(
    signer: Option<&StreamSigner>,
    key: &StreamKey,
    now_unix_secs: u64,
) -> Result<(), Refusal> {
    match signer {
        Some(signer) => Ok(signer.verify_push(key, now_unix_secs)?),
        None => Ok(()),
    }
}

/// The expiry a publish's URL carries, for the room server's gate and the takeover rule: an
/// unsigned URL (on an open relay) counts as expiring at 0.
pub(crate) fn url_expiry(key: &StreamKey) -> u64 {
    key.expiry().unwrap_or(0)
}

/// What a publish does to a stream, given the URL expiry of its live publisher, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublishStart {
    /// The stream was not live.
    New,
    /// The live publisher is replaced (a member reconnecting).
    Takeover,
}

/// Whether a publish whose URL expires at `offered` may start while the stream's live publisher
/// (if any) holds a URL expiring at `live`. A member's own reconnect uses the same URL or a newer
/// one; a leaked older URL must not cut off a fresher publisher.
pub(crate) fn takeover(live: Option<u64>, offered: u64) -> Result<PublishStart, Refusal> {
    match live {
        None => Ok(PublishStart::New),
        Some(live) if offered >= live => Ok(PublishStart::Takeover),
        Some(live) => Err(Refusal::Stale { live, offered }),
    }
}

/// Whether `key` may play at `now_unix_secs`: signed only when the setting asks for it, then
/// with a play signature or a push one (whoever may publish a stream may watch it).
pub(crate) fn may_play(
    signer: Option<&StreamSigner>,
    verify_play: bool,
    key: &StreamKey,
    now_unix_secs: u64,
) -> Result<(), Refusal> {
    match signer {
        Some(signer) if verify_play => match signer.verify_play(key, now_unix_secs) {
            Ok(()) => Ok(()),
            Err(play) => signer
                .verify_push(key, now_unix_secs)
                .map_err(|_| Refusal::Signature(play)),
        },
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_000_000;

    fn signer() -> StreamSigner {
        StreamSigner::new("8888", "testpushkey")
    }

    #[test]
    fn a_fresh_signature_for_this_stream_may_publish() {
        let raw = signer().signed_stream("8888_user_1", NOW + 60);
        let key = parse_key(&raw).unwrap();
        assert_eq!(key.stream_id, "8888_user_1");
        assert_eq!(may_publish(Some(&signer()), &key, NOW), Ok(()));
    }

    #[test]
    fn unsigned_expired_and_wrong_stream_publishes_are_refused() {
        let s = signer();
        let unsigned = parse_key("8888_user_1").unwrap();
        let err = may_publish(Some(&s), &unsigned, NOW).unwrap_err();
        assert_eq!(err, Refusal::Signature(SignError::Unsigned));
        assert_eq!(err.publish_code(), "NetStream.Publish.Unauthorized");

        let expired = parse_key(&s.signed_stream("8888_user_1", NOW - 1)).unwrap();
        assert!(matches!(
            may_publish(Some(&s), &expired, NOW),
            Err(Refusal::Signature(SignError::Expired { .. }))
        ));

        // A valid query for user_2 pasted onto user_1's stream id.
        let other = s.signed_stream("8888_user_2", NOW + 60);
        let query = other.split_once('?').unwrap().1;
        let wrong = parse_key(&format!("8888_user_1?{query}")).unwrap();
        assert!(matches!(
            may_publish(Some(&s), &wrong, NOW),
            Err(Refusal::Signature(SignError::Mismatch { .. }))
        ));
    }

    #[test]
    fn an_open_relay_accepts_any_publish() {
        let key = parse_key("anything").unwrap();
        assert_eq!(may_publish(None, &key, NOW), Ok(()));
    }

    #[test]
    fn play_is_checked_only_when_asked() {
        let s = signer();
        let unsigned = parse_key("8888_user_1").unwrap();
        assert_eq!(may_play(Some(&s), false, &unsigned, NOW), Ok(()));
        let err = may_play(Some(&s), true, &unsigned, NOW).unwrap_err();
        assert_eq!(err.play_code(), "NetStream.Play.Unauthorized");
        let signed = parse_key(&s.signed_stream("8888_user_1", NOW + 1)).unwrap();
        assert_eq!(may_play(Some(&s), true, &signed, NOW), Ok(()));
    }

    #[test]
    fn a_play_url_cannot_publish_but_may_play() {
        let s = signer();
        let play = parse_key(&s.signed_play_stream("8888_user_1", NOW + 60)).unwrap();
        let err = may_publish(Some(&s), &play, NOW).unwrap_err();
        assert_eq!(err.publish_code(), "NetStream.Publish.Unauthorized");
        assert_eq!(may_play(Some(&s), true, &play, NOW), Ok(()));
        let push = parse_key(&s.signed_stream("8888_user_1", NOW + 60)).unwrap();
        assert_eq!(may_play(Some(&s), true, &push, NOW), Ok(()));
        let expired = parse_key(&s.signed_play_stream("8888_user_1", NOW - 1)).unwrap();
        assert!(matches!(
            may_play(Some(&s), true, &expired, NOW),
            Err(Refusal::Signature(SignError::Expired { .. }))
        ));
    }

    #[test]
    fn only_a_url_as_fresh_as_the_live_ones_takes_over() {
        assert_eq!(takeover(None, 0), Ok(PublishStart::New));
        assert_eq!(takeover(Some(100), 100), Ok(PublishStart::Takeover));
        assert_eq!(takeover(Some(100), 101), Ok(PublishStart::Takeover));
        let err = takeover(Some(100), 99).unwrap_err();
        assert_eq!(
            err,
            Refusal::Stale {
                live: 100,
                offered: 99
            }
        );
        assert_eq!(err.publish_code(), "NetStream.Publish.BadName");
        // An open relay's unsigned publishes all count as expiring at 0: the newest wins.
        let unsigned = parse_key("8888_user_1").unwrap();
        assert_eq!(url_expiry(&unsigned), 0);
        assert_eq!(
            takeover(Some(0), url_expiry(&unsigned)),
            Ok(PublishStart::Takeover)
        );
    }

    #[test]
    fn odd_stream_names_are_refused() {
        for raw in [
            "",
            "?txSecret=1",
            "a/b",
            "a b",
            "ü",
            &"x".repeat(MAX_STREAM_ID_LEN + 1),
        ] {
            let err = parse_key(raw).unwrap_err();
            assert_eq!(err.publish_code(), "NetStream.Publish.BadName", "{raw:?}");
        }
        assert!(parse_key("8888_user_1.x-y@z%41").is_ok());
    }
}
