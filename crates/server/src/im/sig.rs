//! Tencent Cloud IM `userSig`s (TLSSigAPIv2): made and checked with the application's secret
//! key, with no I/O.
//!
//! A sig is the JSON object `{"TLS.ver":"2.0","TLS.identifier":…,"TLS.sdkappid":…,
//! "TLS.expire":…,"TLS.time":…,"TLS.sig":…}`, zlib-deflated and base64-encoded with Tencent's
//! URL-safe alphabet (`+`→`*`, `/`→`-`, `=`→`_`). `TLS.sig` is the standard base64 of
//! HMAC-SHA256, keyed by the secret, over the lines `TLS.identifier:…`, `TLS.sdkappid:…`,
//! `TLS.time:…` and `TLS.expire:…`, each ending in `\n`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::io::{Read, Write};

/// The only sig version made and accepted.
pub const SIG_VERSION: &str = "2.0";
/// Largest inflated sig read, so a hostile token cannot inflate into a large allocation; real
/// sigs inflate to under 300 bytes.
pub const MAX_INFLATED_SIG_BYTES: u64 = 4 * 1024;

type HmacSha256 = Hmac<Sha256>;

/// Why a sig was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// Not base64, not zlib, not the JSON of a v2 sig.
    #[error("not a TLSSigAPIv2 userSig: {0}")]
    Malformed(String),
    /// Made for another application.
    #[error("userSig is for sdkAppID {0}")]
    OtherApp(u64),
    /// Made for another user.
    #[error("userSig is for another user")]
    OtherUser,
    /// Past its expiry.
    #[error("userSig expired at {0} (unix seconds)")]
    Expired(u64),
    /// The HMAC does not match the secret.
    #[error("userSig signature does not verify")]
    BadSignature,
}

/// The fields of a sig, in the order the reference implementations write them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigFields {
    /// Always [`SIG_VERSION`].
    #[serde(rename = "TLS.ver")]
    pub version: String,
    /// The user the sig is for.
    #[serde(rename = "TLS.identifier")]
    pub identifier: String,
    /// The IM application.
    #[serde(rename = "TLS.sdkappid")]
    pub sdk_app_id: u64,
    /// Lifetime in seconds from `time`.
    #[serde(rename = "TLS.expire")]
    pub expire: u64,
    /// Issue time, unix seconds.
    #[serde(rename = "TLS.time")]
    pub time: u64,
    /// Base64 HMAC-SHA256 of the signed lines.
    #[serde(rename = "TLS.sig")]
    pub sig: String,
}

/// An IM application's signing key.
#[derive(Clone)]
pub struct SigKey {
    sdk_app_id: u64,
    secret: Vec<u8>,
}

impl std::fmt::Debug for SigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigKey")
            .field("sdk_app_id", &self.sdk_app_id)
            .finish_non_exhaustive()
    }
}

/// Tencent's URL-safe base64: the standard alphabet with `+/=` swapped for `*-_`.
fn encode_tencent(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

fn decode_tencent(text: &str) -> Result<Vec<u8>, SigError> {
    let standard: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect();
    STANDARD
        .decode(standard)
        .map_err(|e| SigError::Malformed(format!("base64: {e}")))
}

impl SigKey {
    /// The key of application `sdk_app_id` whose secret is `secret`.
    pub fn new(sdk_app_id: u64, secret: impl Into<Vec<u8>>) -> Self {
        Self {
            sdk_app_id,
            secret: secret.into(),
        }
    }

    /// The application the key signs for.
    pub fn sdk_app_id(&self) -> u64 {
        self.sdk_app_id
    }

    /// The HMAC over the lines a sig signs.
    fn mac(&self, identifier: &str, time: u64, expire: u64) -> HmacSha256 {
        let content = format!(
            "TLS.identifier:{identifier}\nTLS.sdkappid:{}\nTLS.time:{time}\nTLS.expire:{expire}\n",
            self.sdk_app_id
        );
        let mut mac = HmacSha256::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
        mac.update(content.as_bytes());
        mac
    }

    /// That HMAC in standard base64, as `TLS.sig` carries it.
    fn hmac(&self, identifier: &str, time: u64, expire: u64) -> String {
        STANDARD.encode(self.mac(identifier, time, expire).finalize().into_bytes())
    }

    /// A sig for `identifier` issued at `now` (unix seconds), valid for `expire_secs`.
    pub fn sign(&self, identifier: &str, now: u64, expire_secs: u64) -> String {
        let fields = SigFields {
            version: SIG_VERSION.to_owned(),
            identifier: identifier.to_owned(),
            sdk_app_id: self.sdk_app_id,
            expire: expire_secs,
            time: now,
            sig: self.hmac(identifier, now, expire_secs),
        };
        // A struct of strings and numbers always serializes; writing to a Vec cannot fail.
        let json = serde_json::to_vec(&fields).unwrap_or_default();
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
        let _ = zlib.write_all(&json);
        encode_tencent(&zlib.finish().unwrap_or_default())
    }

    /// Checks that `sig` is this application's, for `identifier`, unexpired at `now` and
    /// signed with this key; returns its fields.
    pub fn verify(&self, sig: &str, identifier: &str, now: u64) -> Result<SigFields, SigError> {
        let fields = decode(sig)?;
        if fields.sdk_app_id != self.sdk_app_id {
            return Err(SigError::OtherApp(fields.sdk_app_id));
        }
        if fields.identifier != identifier {
            return Err(SigError::OtherUser);
        }
        let expiry = fields.time.saturating_add(fields.expire);
        if now >= expiry {
            return Err(SigError::Expired(expiry));
        }
        let given = STANDARD
            .decode(&fields.sig)
            .map_err(|_| SigError::BadSignature)?;
        // Compared as MACs, in constant time.
        self.mac(&fields.identifier, fields.time, fields.expire)
            .verify_slice(&given)
            .map_err(|_| SigError::BadSignature)?;
        Ok(fields)
    }
}

/// The fields of any v2 sig, unchecked.
pub fn decode(sig: &str) -> Result<SigFields, SigError> {
    let compressed = decode_tencent(sig)?;
    let mut json = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_INFLATED_SIG_BYTES)
        .read_to_end(&mut json)
        .map_err(|e| SigError::Malformed(format!("zlib: {e}")))?;
    let fields: SigFields =
        serde_json::from_slice(&json).map_err(|e| SigError::Malformed(format!("JSON: {e}")))?;
    if fields.version != SIG_VERSION {
        return Err(SigError::Malformed(format!("version {:?}", fields.version)));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key and application of Tencent's reference implementations' examples.
    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    const APP: u64 = 1_400_000_000;

    #[test]
    fn the_hmac_matches_an_independent_computation() {
        // HMAC-SHA256 over the four lines, computed apart from this code (Python's hmac):
        // identifier xiaojun, time 1700000000, expire 15552000 (180 days, the reference default).
        let key = SigKey::new(APP, KEY);
        assert_eq!(
            key.hmac("xiaojun", 1_700_000_000, 15_552_000),
            "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="
        );
        assert_eq!(
            key.hmac("administrator", 1_700_000_000, 86_400),
            "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="
        );
    }

    #[test]
    fn a_sig_inflates_to_the_reference_fields_and_verifies() {
        let key = SigKey::new(APP, KEY);
        let sig = key.sign("xiaojun", 1_700_000_000, 15_552_000);
        assert!(
            sig.chars()
                .all(|c| c.is_ascii_alphanumeric() || "*-_".contains(c)),
            "{sig}"
        );
        let fields = decode(&sig).unwrap();
        assert_eq!(
            fields,
            SigFields {
                version: "2.0".into(),
                identifier: "xiaojun".into(),
                sdk_app_id: APP,
                expire: 15_552_000,
                time: 1_700_000_000,
                sig: "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=".into(),
            }
        );
        assert_eq!(key.verify(&sig, "xiaojun", 1_700_000_001), Ok(fields));
    }

    #[test]
    fn a_sig_made_by_tencents_tools_decodes() {
        // Published in a public client sample (its key is not): the format is Tencent's own.
        let sig = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwpWJeVDh4pTsxIKCzBQlK0MTAwNDE1NLE0OITGpFQWZRKlDc1NTUyMDAACJakpkLFjM3NrQ0NzK2gJqSmQ401SIwvTjcv8okL9mvssg7O8*r3CUgMb3EN9832M8yrNLc0NjUo7jCKD01Rt-RVqkWAPIpMUE_";
        let fields = decode(sig).unwrap();
        assert_eq!(fields.identifier, "yan");
        assert_eq!(fields.sdk_app_id, 1_400_145_941);
        assert_eq!((fields.time, fields.expire), (1_573_197_238, 15_552_000));
        assert_eq!(
            SigKey::new(1_400_145_941, KEY).verify(sig, "yan", fields.time + 1),
            Err(SigError::BadSignature),
            "another application's secret"
        );
    }

    #[test]
    fn wrong_app_user_time_key_and_garbage_are_refused() {
        let key = SigKey::new(APP, KEY);
        let sig = key.sign("u", 1000, 60);
        assert_eq!(key.verify(&sig, "u", 1059).map(|f| f.time), Ok(1000));
        assert_eq!(key.verify(&sig, "u", 1060), Err(SigError::Expired(1060)));
        assert_eq!(key.verify(&sig, "v", 1001), Err(SigError::OtherUser));
        assert_eq!(
            SigKey::new(APP + 1, KEY).verify(&sig, "u", 1001),
            Err(SigError::OtherApp(APP))
        );
        assert_eq!(
            SigKey::new(APP, "other").verify(&sig, "u", 1001),
            Err(SigError::BadSignature)
        );
        for garbage in ["", "abc", "eJyr", "not base64!"] {
            assert!(
                matches!(key.verify(garbage, "u", 1001), Err(SigError::Malformed(_))),
                "{garbage}"
            );
        }
    }

    #[test]
    fn a_bomb_does_not_inflate_past_the_limit() {
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::best());
        zlib.write_all(&vec![b' '; 1 << 20]).unwrap();
        let bomb = encode_tencent(&zlib.finish().unwrap());
        assert!(matches!(decode(&bomb), Err(SigError::Malformed(_))));
    }
}
