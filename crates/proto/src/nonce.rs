//! The `nonce` field (ext) of mutating requests, so a captured request cannot be replayed.
//!
//! Shape: `<unix millis>-<random>`, the random part 8 to 64 ASCII letters, digits, `_` or `-`
//! (Quartet's client sends 16 hex digits). The server refuses a nonce whose time is outside its
//! window from now, or one it already saw from the same user within that window; in strict mode
//! `create_room`, `destroy_room`, `add_pusher`, `delete_pusher` and `send_room_text_msg` must
//! carry one ([`crate::Endpoint::needs_nonce`]). v1 clients send none, which an anonymous server
//! accepts.

/// Name of the body field.
pub const NONCE_FIELD: &str = "nonce";
/// Longest nonce accepted, in bytes: 13 digits of millis, a dash and the random part.
pub const MAX_NONCE_BYTES: usize = 80;
/// Fewest characters of randomness: 8 hex digits make collisions within a window negligible.
pub const MIN_NONCE_RANDOM_CHARS: usize = 8;

/// Why a nonce is not of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    /// Longer than [`MAX_NONCE_BYTES`].
    #[error("is {0} bytes; the limit is {MAX_NONCE_BYTES}")]
    TooLong(usize),
    /// Not `<unix millis>-<random>`.
    #[error(
        "must be `<unix millis>-<random>` with at least {MIN_NONCE_RANDOM_CHARS} random letters or digits"
    )]
    Malformed,
}

/// A nonce for a request made at `unix_millis`, with `random` as its random part.
pub fn make(unix_millis: u64, random: u64) -> String {
    format!("{unix_millis}-{random:016x}")
}

/// The unix milliseconds a nonce claims to have been made at.
pub fn parse(nonce: &str) -> Result<u64, NonceError> {
    if nonce.len() > MAX_NONCE_BYTES {
        return Err(NonceError::TooLong(nonce.len()));
    }
    let (millis, random) = nonce.split_once('-').ok_or(NonceError::Malformed)?;
    let random_ok = random.len() >= MIN_NONCE_RANDOM_CHARS
        && random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if millis.is_empty() || !millis.bytes().all(|b| b.is_ascii_digit()) || !random_ok {
        return Err(NonceError::Malformed);
    }
    millis.parse().map_err(|_| NonceError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_nonces_parse_back_to_their_time() {
        let n = make(1_700_000_000_123, 0xdead_beef);
        assert_eq!(n, "1700000000123-00000000deadbeef");
        assert_eq!(parse(&n), Ok(1_700_000_000_123));
    }

    #[test]
    fn malformed_nonces_are_refused() {
        for bad in [
            "",
            "123",
            "-abcdefgh",
            "12a-abcdefgh",
            "123-abc",
            "123-abcdefg!",
            "+1-abcdefgh",
            "99999999999999999999999-abcdefgh",
        ] {
            assert_eq!(parse(bad), Err(NonceError::Malformed), "{bad}");
        }
        let long = format!("1-{}", "a".repeat(MAX_NONCE_BYTES));
        assert!(matches!(parse(&long), Err(NonceError::TooLong(_))));
    }
}
