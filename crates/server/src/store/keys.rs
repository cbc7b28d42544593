//! The signing keys kept in the data directory, so tokens and stream URLs outlive a restart.
//!
//! File [`KEYS_FILE`], mode 0600 on Unix, JSON:
//! `{"format": 1, "pushSecretKey": "<64 hex digits>", "tokenSecret": "<64 hex digits>"}`.
//! `pushSecretKey` is used as written (as the text an external RTMP server is configured with);
//! `tokenSecret` is hex of the raw key bytes. Both are made once from the operating system's
//! randomness. To rotate them, stop the server and delete the file: every token and URL issued
//! so far then stops working.

use rand::TryRngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the keys file in the data directory.
pub const KEYS_FILE: &str = "keys.json";
/// Version of the keys file's layout.
pub const KEYS_FORMAT: u64 = 1;
/// Bytes of randomness in each generated key: 256 bits, beyond any guessing.
pub const SECRET_BYTES: usize = 32;

/// Why the keys could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the file failed.
    #[error("keys file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not what this server writes.
    #[error(
        "keys file {path} is unreadable ({reason}); restore it from a backup, or delete it to make new keys (every token and URL issued so far then stops working)"
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The operating system gave no randomness.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// The server's two signing keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    /// Key of the `txSecret` stream signature.
    pub push_secret_key: String,
    /// Key of the `userSig` tokens.
    pub token_secret: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeysFile {
    format: u64,
    push_secret_key: String,
    token_secret: String,
}

impl Keys {
    /// Two fresh keys from the operating system's randomness.
    pub fn generate() -> Result<Keys, KeyError> {
        let mut push = [0u8; SECRET_BYTES];
        let mut token = [0u8; SECRET_BYTES];
        OsRng
            .try_fill_bytes(&mut push)
            .and_then(|()| OsRng.try_fill_bytes(&mut token))
            .map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Keys {
            push_secret_key: hex::encode(push),
            token_secret: token.to_vec(),
        })
    }

    /// The keys of data directory `dir`, made and written there first if it has none.
    pub fn load_or_create(dir: &Path) -> Result<Keys, KeyError> {
        let path = dir.join(KEYS_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Self::parse(&path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = Self::generate()?;
                keys.write(&path)?;
                tracing::info!(path = %path.display(), "made new signing keys");
                Ok(keys)
            }
            Err(source) => Err(KeyError::Io { path, source }),
        }
    }

    /// The keys in `bytes`, the keys file's JSON read from `path` (a file, or where else it
    /// was kept).
    pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Keys, KeyError> {
        let malformed = |reason: String| KeyError::Malformed {
            path: path.to_owned(),
            reason,
        };
        let file: KeysFile = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if file.format != KEYS_FORMAT {
            return Err(malformed(format!(
                "format {} (this server reads {KEYS_FORMAT})",
                file.format
            )));
        }
        if file.push_secret_key.is_empty() {
            return Err(malformed("empty pushSecretKey".into()));
        }
        let token_secret =
            hex::decode(&file.token_secret).map_err(|e| malformed(format!("tokenSecret: {e}")))?;
        if token_secret.is_empty() {
            return Err(malformed("empty tokenSecret".into()));
        }
        warn_if_readable_by_others(path);
        Ok(Keys {
            push_secret_key: file.push_secret_key,
            token_secret,
        })
    }

    /// The keys file's JSON of these keys.
    pub(super) fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec_pretty(&KeysFile {
            format: KEYS_FORMAT,
            push_secret_key: self.push_secret_key.clone(),
            token_secret: hex::encode(&self.token_secret),
        })
    }

    /// Writes a temporary file readable only by its owner, then renames it into place, so a
    /// crash never leaves half a key behind.
    fn write(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let json = self.to_json().map_err(|e| io(std::io::Error::other(e)))?;
        let tmp = path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io)?;
        file.write_all(&json).map_err(io)?;
        file.write_all(b"\n").map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent()
            && let Ok(dir) = std::fs::File::open(dir)
        {
            // Makes the rename itself durable; a filesystem that cannot sync a directory still
            // has the file, so this is best effort.
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "the keys file is readable by other users; anyone who reads it can sign tokens and stream URLs (chmod 600 it)"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keys::load_or_create(dir.path()).unwrap();
        assert_eq!(first.push_secret_key.len(), SECRET_BYTES * 2);
        assert_eq!(first.token_secret.len(), SECRET_BYTES);
        let again = Keys::load_or_create(dir.path()).unwrap();
        assert_eq!(first, again);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(Keys::load_or_create(other.path()).unwrap(), first);
        assert!(!dir.path().join("keys.json.tmp").exists());
    }

    #[cfg(unix)]
    #[test]
    fn the_keys_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        Keys::load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(KEYS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_damaged_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYS_FILE);
        for bad in [
            "",
            "{}",
            r#"{"format":2,"pushSecretKey":"k","tokenSecret":"00"}"#,
            r#"{"format":1,"pushSecretKey":"k","tokenSecret":"xyz"}"#,
            r#"{"format":1,"pushSecretKey":"","tokenSecret":"00"}"#,
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = Keys::load_or_create(dir.path()).unwrap_err();
            assert!(matches!(e, KeyError::Malformed { .. }), "{bad}: {e}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), bad);
        }
        std::fs::write(
            &path,
            r#"{"format":1,"pushSecretKey":"k","tokenSecret":"0aff"}"#,
        )
        .unwrap();
        let keys = Keys::load_or_create(dir.path()).unwrap();
        assert_eq!(keys.push_secret_key, "k");
        assert_eq!(keys.token_secret, [0x0a, 0xff]);
    }
}
