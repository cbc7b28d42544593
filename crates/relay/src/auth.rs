//! Who may publish and play (spec §3): pure decisions over a stream key and the settings.

use quartet_proto::sign::{SignError, StreamKey, StreamSigner};

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
}

impl Refusal {
    /// The `onStatus` code a client is told.
    pub fn publish_code(&self) -> &'static str {
        match self {
            Refusal::BadName(_) => "NetStream.Publish.BadName",
            Refusal::Signature(_) => "NetStream.Publish.Unauthorized",
            Refusal::Busy => "NetStream.Publish.BadConnection",
        }
    }

    /// The `onStatus` code a player is told.
    pub fn play_code(&self) -> &'static str {
        match self {
            Refusal::BadName(_) => "NetStream.Play.StreamNotFound",
            Refusal::Signature(_) => "NetStream.Play.Unauthorized",
            Refusal::Busy => "NetStream.Play.Failed",
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
        Err(Refusal::BadName(
            raw.chars().take(MAX_STREAM_ID_LEN).collect(),
        ))
    }
}

/// Whether `key` may publish at `now_unix_secs`. With a signer every publish, the first one
/// and a takeover of a live stream alike, needs a valid signature for exactly this stream id;
/// without one (an open relay) anything goes.
pub(crate) fn may_publish(
    signer: Option<&StreamSigner>,
    key: &StreamKey,
    now_unix_secs: u64,
) -> Result<(), Refusal> {
    match signer {
        Some(signer) => Ok(signer.verify(key, now_unix_secs)?),
        None => Ok(()),
    }
}

/// Whether `key` may play at `now_unix_secs`: signed only when the setting asks for it.
pub(crate) fn may_play(
    signer: Option<&StreamSigner>,
    verify_play: bool,
    key: &StreamKey,
    now_unix_secs: u64,
) -> Result<(), Refusal> {
    match signer {
        Some(signer) if verify_play => Ok(signer.verify(key, now_unix_secs)?),
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
