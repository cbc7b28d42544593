//! Tencent Cloud IM, as the original RTCRoom server used it: an AVChatRoom group per room (the
//! group ID is the roomID), a group system notification `{"cmd":"notifyPusherChange","data":""}`
//! on every member change, room text as a two-part group message, the group destroyed with the
//! room (IM itself tells the members the group was dismissed), and real IM `userSig`s from
//! `get_im_login_info`. Original mini-program clients hear of changes only this way.
//!
//! The REST calls run in an actor fed by the room engine's change feed through a bounded queue
//! ([`IM_QUEUE`]); the room API never waits for IM, and an IM outage costs IM notices, never
//! room API answers.

mod actor;
mod rest;
pub mod sig;

pub(crate) use actor::ImActor;
pub use actor::{IM_DRAIN_TIMEOUT, IM_QUEUE, IM_RETRIES, IM_RETRY_MAX, IM_RETRY_MIN, calls_for};
pub use rest::{ADMIN_SIG_VALID, GROUP_NAME, IM_REQUEST_TIMEOUT, ImCall, ImError};

/// Tencent's IM REST endpoint, where the original server sent its calls.
pub const DEFAULT_IM_API_BASE: &str = "https://console.tim.qq.com";
/// `accType` answered with IM unless told otherwise: TLSSigAPIv2 applications have no account
/// type, and clients of that era only pass it back to the IM SDK.
pub const DEFAULT_IM_ACC_TYPE: &str = "0";

/// An IM application the server speaks for.
#[derive(Clone, PartialEq, Eq)]
pub struct ImConfig {
    /// The application's `SDKAppID`.
    pub sdk_app_id: u64,
    /// The application's administrator account, in whose name REST calls are made.
    pub admin: String,
    /// The application's secret key, which signs every `userSig`.
    pub secret: String,
    /// `accType` answered by `get_im_login_info`.
    pub acc_type: String,
    /// Base URL of the IM REST API ([`DEFAULT_IM_API_BASE`]; a stand-in in tests).
    pub api_base: String,
}

impl std::fmt::Debug for ImConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImConfig")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("admin", &self.admin)
            .field("secret", &"(hidden)")
            .field("acc_type", &self.acc_type)
            .field("api_base", &self.api_base)
            .finish()
    }
}

impl ImConfig {
    /// Application `sdk_app_id` administered by `admin` with key `secret`, at Tencent's endpoint.
    pub fn new(sdk_app_id: u64, admin: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            sdk_app_id,
            admin: admin.into(),
            secret: secret.into(),
            acc_type: DEFAULT_IM_ACC_TYPE.to_owned(),
            api_base: DEFAULT_IM_API_BASE.to_owned(),
        }
    }

    /// The same with another REST base URL.
    pub fn with_api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into();
        self
    }

    /// The key that signs this application's `userSig`s.
    pub fn sig_key(&self) -> sig::SigKey {
        sig::SigKey::new(self.sdk_app_id, self.secret.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let c = ImConfig::new(1_400_000_000, "administrator", "s3cr3t-key");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("1400000000") && shown.contains("administrator"));
        assert_eq!(c.api_base, DEFAULT_IM_API_BASE);
    }
}
