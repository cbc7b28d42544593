//! `userSig` tokens (ext, spec §5): the server's HMAC-SHA256 over a userID and an expiry, so a
//! caller can act only for the user it logged in as.
//!
//! Shape: `<base64url(userID)>.<expiry unix secs>.<base64url(mac)>`. Opaque to clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three dot-separated parts of the right encodings.
    #[error("userSig is malformed")]
    Malformed,
    /// Signed by another key, or altered.
    #[error("userSig signature is invalid")]
    BadSignature,
    /// Past its expiry.
    #[error("userSig expired at unix {0}")]
    Expired(u64),
    /// Valid, but for another user.
    #[error("userSig belongs to another user")]
    WrongUser,
}

/// Issues and checks tokens with one secret.
#[derive(Clone)]
pub struct TokenKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// A key from secret bytes.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
        }
    }

    fn mac(&self, user_id: &str, expiry: u64) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.secret) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(user_id.as_bytes());
        mac.update(b"\n");
        mac.update(expiry.to_string().as_bytes());
        mac
    }

    /// A token for `user_id` valid until `expiry_unix_secs`.
    pub fn issue(&self, user_id: &str, expiry_unix_secs: u64) -> String {
        let tag = self.mac(user_id, expiry_unix_secs).finalize().into_bytes();
        format!(
            "{}.{expiry_unix_secs}.{}",
            B64.encode(user_id),
            B64.encode(tag)
        )
    }

    /// The userID a token was issued for, if its signature holds and it has not expired.
    pub fn verify(&self, token: &str, now_unix_secs: u64) -> Result<String, TokenError> {
        let mut parts = token.split('.');
        let (Some(user), Some(expiry), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let user = B64
            .decode(user)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(TokenError::Malformed)?;
        let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        let tag = B64.decode(tag).map_err(|_| TokenError::Malformed)?;
        self.mac(&user, expiry)
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        if expiry < now_unix_secs {
            return Err(TokenError::Expired(expiry));
        }
        Ok(user)
    }

    /// Checks that `token` is valid and bound to `user_id`.
    pub fn verify_for(
        &self,
        token: &str,
        user_id: &str,
        now_unix_secs: u64,
    ) -> Result<(), TokenError> {
        if self.verify(token, now_unix_secs)? == user_id {
            Ok(())
        } else {
            Err(TokenError::WrongUser)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_for_their_user_until_expiry() {
        let k = TokenKey::new(b"secret".to_vec());
        let t = k.issue("user_1_0", 100);
        assert_eq!(k.verify(&t, 100), Ok("user_1_0".to_owned()));
        assert_eq!(k.verify_for(&t, "user_1_0", 50), Ok(()));
        assert_eq!(k.verify_for(&t, "user_2_0", 50), Err(TokenError::WrongUser));
        assert_eq!(k.verify(&t, 101), Err(TokenError::Expired(100)));
    }

    #[test]
    fn forged_altered_and_garbage_tokens_fail() {
        let k = TokenKey::new(b"secret".to_vec());
        let other = TokenKey::new(b"other".to_vec());
        assert_eq!(
            k.verify(&other.issue("u", 100), 0),
            Err(TokenError::BadSignature)
        );
        let t = k.issue("u", 100);
        let extended = t.replacen(".100.", ".999.", 1);
        assert_eq!(k.verify(&extended, 0), Err(TokenError::BadSignature));
        for junk in ["", "a.b", "a.b.c.d", "!!.1.AA", "dQ.x.AA"] {
            assert_eq!(k.verify(junk, 0), Err(TokenError::Malformed), "{junk}");
        }
    }
}
