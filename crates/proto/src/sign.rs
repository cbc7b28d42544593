//! Stream URLs and their signature (spec §3): `txTime` is the expiry in uppercase hex unix
//! seconds, `txSecret` the lowercase hex `md5(key + streamId + txTime)`.
//!
//! Push and play URLs have the same shape but are signed under different keys: a push URL under
//! the push key, a play URL under the play key, [`play_key`] of the push key. Play URLs are
//! handed to anyone in a room (and to tokenless list calls), so a play URL must not be a licence
//! to publish; the play key is derived one way, so holding it teaches nothing about the push key.
//!
//! The same query works on the embedded relay, nginx-rtmp with an `on_publish` check, SRS or a
//! CDN, which is why a member's URL is derived only from its userID and a shared key.

use md5::{Digest, Md5};

/// Query parameter naming the bizid.
pub const Q_BIZID: &str = "bizid";
/// Query parameter carrying the signature.
pub const Q_SECRET: &str = "txSecret";
/// Query parameter carrying the expiry.
pub const Q_TIME: &str = "txTime";

/// What a member's small second stream adds to its main stream's id (`{bizid}_{userID}-small`):
/// derived, so any RTMP server carries it under the same signature scheme, and with a `-`,
/// which the server's generated userIDs never hold.
pub const SMALL_STREAM_SUFFIX: &str = "-small";

/// Which of a member's streams a stream id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamVariant {
    /// The member's main stream, the one v1 clients play.
    Main,
    /// The small second stream beside it (an extension).
    Small,
}

/// Prefix hashed with the push key to derive the play key: it separates the two uses of one
/// secret, so no play signature is ever a valid push signature.
pub const PLAY_KEY_DOMAIN: &str = "quartet-play-v1:";

/// The key play URLs are signed under: lowercase hex `md5(PLAY_KEY_DOMAIN + push_key)`.
pub fn play_key(push_key: &str) -> String {
    let mut h = Md5::new();
    h.update(PLAY_KEY_DOMAIN.as_bytes());
    h.update(push_key.as_bytes());
    hex::encode(h.finalize())
}

/// `txTime` for an expiry at `expiry_unix_secs`.
pub fn tx_time(expiry_unix_secs: u64) -> String {
    format!("{expiry_unix_secs:X}")
}

/// `txSecret` for `stream_id` expiring at `tx_time` (already hex), under `key`.
pub fn tx_secret(key: &str, stream_id: &str, tx_time: &str) -> String {
    let mut h = Md5::new();
    h.update(key.as_bytes());
    h.update(stream_id.as_bytes());
    h.update(tx_time.as_bytes());
    hex::encode(h.finalize())
}

/// Why a stream signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// `txSecret` or `txTime` was not in the query.
    #[error("stream URL is not signed (txSecret and txTime required)")]
    Unsigned,
    /// `txTime` was not hex.
    #[error("txTime {0:?} is not hexadecimal unix seconds")]
    BadTime(String),
    /// The expiry has passed.
    #[error("stream signature expired at unix {expired_at}")]
    Expired {
        /// When it expired.
        expired_at: u64,
    },
    /// The secret does not match this stream id and time (wrong key, or signed for another stream).
    #[error("stream signature does not match stream {stream_id:?}")]
    Mismatch {
        /// The stream the request named.
        stream_id: String,
    },
}

/// A stream name as it arrives at an RTMP server: the stream id and its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamKey {
    /// The part before `?`.
    pub stream_id: String,
    /// `txSecret`, if given.
    pub tx_secret: Option<String>,
    /// `txTime`, if given.
    pub tx_time: Option<String>,
}

impl StreamKey {
    /// The expiry `txTime` names, in unix seconds, when it is present and hexadecimal.
    pub fn expiry(&self) -> Option<u64> {
        self.tx_time
            .as_deref()
            .and_then(|t| u64::from_str_radix(t, 16).ok())
    }

    /// Splits `8888_user_1?bizid=8888&txSecret=..&txTime=..` (the query may be absent).
    pub fn parse(raw: &str) -> StreamKey {
        let (id, query) = raw.split_once('?').unwrap_or((raw, ""));
        let mut key = StreamKey {
            stream_id: id.to_owned(),
            tx_secret: None,
            tx_time: None,
        };
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some((Q_SECRET, v)) => key.tx_secret = Some(v.to_owned()),
                Some((Q_TIME, v)) => key.tx_time = Some(v.to_owned()),
                _ => {}
            }
        }
        key
    }
}

/// Signs and verifies stream URLs for one bizid and key.
#[derive(Clone)]
pub struct StreamSigner {
    bizid: String,
    key: String,
    play_key: String,
}

impl std::fmt::Debug for StreamSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys are secrets: logs of a configuration must not carry them.
        f.debug_struct("StreamSigner")
            .field("bizid", &self.bizid)
            .finish_non_exhaustive()
    }
}

impl StreamSigner {
    /// A signer for `bizid` with the push secret `key`.
    pub fn new(bizid: impl Into<String>, key: impl Into<String>) -> Self {
        let key = key.into();
        Self {
            bizid: bizid.into(),
            play_key: play_key(&key),
            key,
        }
    }

    /// The bizid.
    pub fn bizid(&self) -> &str {
        &self.bizid
    }

    /// The stream id of `user_id`: `{bizid}_{userID}`.
    pub fn stream_id(&self, user_id: &str) -> String {
        format!("{}_{}", self.bizid, user_id)
    }

    /// The stream id of `user_id`'s small second stream: `{bizid}_{userID}-small`.
    pub fn small_stream_id(&self, user_id: &str) -> String {
        format!("{}{SMALL_STREAM_SUFFIX}", self.stream_id(user_id))
    }

    /// Whose stream `stream_id` is, and which of its streams: `None` for a stream not named
    /// after a user of this bizid.
    pub fn owner<'a>(&self, stream_id: &'a str) -> Option<(&'a str, StreamVariant)> {
        let user = stream_id
            .strip_prefix(self.bizid.as_str())?
            .strip_prefix('_')
            .filter(|u| !u.is_empty())?;
        Some(match user.strip_suffix(SMALL_STREAM_SUFFIX) {
            Some(main) if !main.is_empty() => (main, StreamVariant::Small),
            _ => (user, StreamVariant::Main),
        })
    }

    fn signed_under(&self, key: &str, stream_id: &str, expiry_unix_secs: u64) -> String {
        let time = tx_time(expiry_unix_secs);
        let secret = tx_secret(key, stream_id, &time);
        format!(
            "{stream_id}?{Q_BIZID}={}&{Q_SECRET}={secret}&{Q_TIME}={time}",
            self.bizid
        )
    }

    /// The stream name with its push-signed query, e.g.
    /// `8888_user_1?bizid=8888&txSecret=..&txTime=..`.
    pub fn signed_stream(&self, stream_id: &str, expiry_unix_secs: u64) -> String {
        self.signed_under(&self.key, stream_id, expiry_unix_secs)
    }

    /// The stream name with a play-signed query of the same shape: good for playing only.
    pub fn signed_play_stream(&self, stream_id: &str, expiry_unix_secs: u64) -> String {
        self.signed_under(&self.play_key, stream_id, expiry_unix_secs)
    }

    /// A full push URL under `base` (e.g. `rtmp://127.0.0.1:1935/live`) for `user_id`'s stream.
    pub fn url(&self, base: &str, user_id: &str, expiry_unix_secs: u64) -> String {
        let stream = self.signed_stream(&self.stream_id(user_id), expiry_unix_secs);
        format!("{}/{stream}", base.trim_end_matches('/'))
    }

    /// A full play URL under `base` for `user_id`'s stream (an `accelerateURL`).
    pub fn play_url(&self, base: &str, user_id: &str, expiry_unix_secs: u64) -> String {
        let stream = self.signed_play_stream(&self.stream_id(user_id), expiry_unix_secs);
        format!("{}/{stream}", base.trim_end_matches('/'))
    }

    /// A full push URL for `user_id`'s small second stream.
    pub fn small_url(&self, base: &str, user_id: &str, expiry_unix_secs: u64) -> String {
        let stream = self.signed_stream(&self.small_stream_id(user_id), expiry_unix_secs);
        format!("{}/{stream}", base.trim_end_matches('/'))
    }

    /// A full play URL for `user_id`'s small second stream.
    pub fn small_play_url(&self, base: &str, user_id: &str, expiry_unix_secs: u64) -> String {
        let stream = self.signed_play_stream(&self.small_stream_id(user_id), expiry_unix_secs);
        format!("{}/{stream}", base.trim_end_matches('/'))
    }

    /// Checks a push signature at `now_unix_secs`; the same as [`StreamSigner::verify_push`].
    pub fn verify(&self, key: &StreamKey, now_unix_secs: u64) -> Result<(), SignError> {
        self.verify_push(key, now_unix_secs)
    }

    /// Checks that `key` carries a valid, unexpired push signature: a play signature is refused.
    pub fn verify_push(&self, key: &StreamKey, now_unix_secs: u64) -> Result<(), SignError> {
        verify_under(&self.key, key, now_unix_secs)
    }

    /// Checks that `key` carries a valid, unexpired play signature (a push one does not do here;
    /// whether a push URL may also play is the server's choice).
    pub fn verify_play(&self, key: &StreamKey, now_unix_secs: u64) -> Result<(), SignError> {
        verify_under(&self.play_key, key, now_unix_secs)
    }
}

fn verify_under(signing_key: &str, key: &StreamKey, now_unix_secs: u64) -> Result<(), SignError> {
    let (Some(secret), Some(time)) = (&key.tx_secret, &key.tx_time) else {
        return Err(SignError::Unsigned);
    };
    let expired_at = u64::from_str_radix(time, 16).map_err(|_| SignError::BadTime(time.clone()))?;
    let expected = tx_secret(signing_key, &key.stream_id, time);
    if !constant_time_eq(expected.as_bytes(), secret.to_ascii_lowercase().as_bytes()) {
        return Err(SignError::Mismatch {
            stream_id: key.stream_id.clone(),
        });
    }
    if expired_at < now_unix_secs {
        return Err(SignError::Expired { expired_at });
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_test_vector() {
        assert_eq!(
            tx_secret("testpushkey", "8888_user_1", "6B0E7493"),
            "181b98dc4e940d7048a7491c4969e034"
        );
        assert_eq!(tx_time(0x6B0E7493), "6B0E7493");
    }

    #[test]
    fn url_carries_the_vector_signature() {
        let s = StreamSigner::new("8888", "testpushkey");
        assert_eq!(
            s.url("rtmp://127.0.0.1:1935/live/", "user_1", 0x6B0E7493),
            "rtmp://127.0.0.1:1935/live/8888_user_1?bizid=8888&txSecret=181b98dc4e940d7048a7491c4969e034&txTime=6B0E7493"
        );
    }

    #[test]
    fn verify_accepts_fresh_and_refuses_expired_wrong_stream_and_unsigned() {
        let s = StreamSigner::new("8888", "testpushkey");
        let good = StreamKey::parse(&s.signed_stream("8888_user_1", 2_000));
        assert_eq!(s.verify(&good, 1_000), Ok(()));
        assert_eq!(
            s.verify(&good, 2_001),
            Err(SignError::Expired { expired_at: 2_000 })
        );

        let mut other = good.clone();
        other.stream_id = "8888_user_2".into();
        assert!(matches!(
            s.verify(&other, 1_000),
            Err(SignError::Mismatch { .. })
        ));

        let wrong_key = StreamSigner::new("8888", "otherkey");
        assert!(matches!(
            wrong_key.verify(&good, 1_000),
            Err(SignError::Mismatch { .. })
        ));

        assert_eq!(
            s.verify(&StreamKey::parse("8888_user_1"), 1_000),
            Err(SignError::Unsigned)
        );
        let bad_time = StreamKey::parse("8888_user_1?txSecret=00&txTime=zz");
        assert_eq!(
            s.verify(&bad_time, 1_000),
            Err(SignError::BadTime("zz".into()))
        );
    }

    #[test]
    fn a_play_url_cannot_publish_and_a_push_url_is_no_play_signature() {
        let s = StreamSigner::new("8888", "testpushkey");
        let play = StreamKey::parse(&s.signed_play_stream("8888_user_1", 2_000));
        assert_eq!(s.verify_play(&play, 1_000), Ok(()));
        assert!(matches!(
            s.verify_push(&play, 1_000),
            Err(SignError::Mismatch { .. })
        ));
        assert!(matches!(
            s.verify(&play, 1_000),
            Err(SignError::Mismatch { .. })
        ));

        let push = StreamKey::parse(&s.signed_stream("8888_user_1", 2_000));
        assert_eq!(s.verify_push(&push, 1_000), Ok(()));
        assert!(matches!(
            s.verify_play(&push, 1_000),
            Err(SignError::Mismatch { .. })
        ));
        assert_eq!(
            s.verify_play(&play, 2_001),
            Err(SignError::Expired { expired_at: 2_000 })
        );
    }

    #[test]
    fn play_urls_keep_the_v1_shape_under_the_derived_key() {
        let s = StreamSigner::new("8888", "testpushkey");
        let key = play_key("testpushkey");
        assert_eq!(key.len(), 32);
        assert_ne!(key, "testpushkey");
        let secret = tx_secret(&key, "8888_user_1", "6B0E7493");
        assert_eq!(
            s.play_url("rtmp://h/live", "user_1", 0x6B0E7493),
            format!("rtmp://h/live/8888_user_1?bizid=8888&txSecret={secret}&txTime=6B0E7493")
        );
        assert_ne!(secret, "181b98dc4e940d7048a7491c4969e034");
        let parsed = StreamKey::parse(&s.signed_play_stream("8888_user_1", 0x6B0E7493));
        assert_eq!(parsed.expiry(), Some(0x6B0E7493));
        assert_eq!(StreamKey::parse("8888_user_1?txTime=zz").expiry(), None);
    }

    #[test]
    fn a_small_stream_is_its_members_and_signed_for_itself_alone() {
        let s = StreamSigner::new("8888", "testpushkey");
        assert_eq!(s.small_stream_id("user_1"), "8888_user_1-small");
        assert_eq!(
            s.owner("8888_user_1"),
            Some(("user_1", StreamVariant::Main))
        );
        assert_eq!(
            s.owner("8888_user_1-small"),
            Some(("user_1", StreamVariant::Small))
        );
        // Not this bizid's, or naming no user: nobody's.
        for stranger in ["9999_user_1", "8888user_1", "8888_", "live"] {
            assert_eq!(s.owner(stranger), None, "{stranger}");
        }
        // A suffix with nobody before it is a (strange) userID, not a small stream.
        assert_eq!(
            s.owner("8888_-small"),
            Some(("-small", StreamVariant::Main))
        );
        // Each URL is signed for its own stream: a small stream's push URL cannot push the main
        // one, and its play URL publishes nothing.
        let now = 0x6B0E0000;
        let push = StreamKey::parse(
            s.small_url("rtmp://h/live", "user_1", 0x6B0E7493)
                .rsplit('/')
                .next()
                .unwrap(),
        );
        assert_eq!(push.stream_id, "8888_user_1-small");
        s.verify_push(&push, now).unwrap();
        let forged = StreamKey {
            stream_id: "8888_user_1".into(),
            ..push.clone()
        };
        assert!(s.verify_push(&forged, now).is_err());
        let play = StreamKey::parse(
            s.small_play_url("rtmp://h/live", "user_1", 0x6B0E7493)
                .rsplit('/')
                .next()
                .unwrap(),
        );
        s.verify_play(&play, now).unwrap();
        assert!(s.verify_push(&play, now).is_err());
    }

    #[test]
    fn debug_output_does_not_leak_the_keys() {
        let text = format!("{:?}", StreamSigner::new("8888", "testpushkey"));
        assert!(
            text.contains("8888") && !text.contains("testpushkey"),
            "{text}"
        );
        assert!(!text.contains(&play_key("testpushkey")), "{text}");
    }
}
