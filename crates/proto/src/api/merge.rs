//! `merge_stream`, which v1 forwarded to a mixing service.

use super::{Endpoint, Request, id};
use crate::fields::{Fields, FieldsError};
use serde::{Deserialize, Serialize};

/// `merge_stream` request (`live_room`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeStream {
    /// The caller.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The room.
    #[serde(rename = "roomID")]
    pub room_id: String,
    /// Mixing parameters, passed through untouched in v1.
    #[serde(rename = "mergeParams")]
    pub merge_params: serde_json::Value,
}

impl Request for MergeStream {
    const ENDPOINT: Endpoint = Endpoint::MergeStream;
    fn from_fields(f: &Fields) -> Result<Self, FieldsError> {
        let user_id = id(f, "userID")?;
        let room_id = id(f, "roomID")?;
        let merge_params = match f.raw("mergeParams") {
            None | Some(serde_json::Value::Null) => {
                return Err(FieldsError::Missing("mergeParams"));
            }
            Some(serde_json::Value::String(s)) if s.is_empty() => {
                return Err(FieldsError::Missing("mergeParams"));
            }
            Some(v) => v.clone(),
        };
        Ok(Self {
            user_id,
            room_id,
            merge_params,
        })
    }
    acting!();
}

/// `merge_stream` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeResult {
    /// What the mixing service answered.
    pub result: serde_json::Value,
}
