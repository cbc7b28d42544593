//! A request body as v1 read it: a bag of named values, where a required field that is absent,
//! not a string, or empty is "missing".

use serde_json::{Map, Value};

/// The fields of one request, from a JSON object or a form-encoded body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields(Map<String, Value>);

/// Why a request's fields were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldsError {
    /// A required field was absent, not a string, or empty.
    #[error("missing or empty field `{0}`")]
    Missing(&'static str),
    /// A numeric field held something that is not a non-negative integer.
    #[error("field `{0}` must be a non-negative integer")]
    NotANumber(&'static str),
    /// The body was not a JSON object (or valid form data).
    #[error("request body must be a JSON object or form data: {0}")]
    Body(String),
    /// A field was longer than its limit (see [`crate::limits`]).
    #[error("field `{field}` is {len} {unit}; the limit is {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
        /// What is counted: "characters" or "bytes".
        unit: &'static str,
    },
    /// A field held a control or bidi character, which could hide or forge text.
    #[error("field `{field}` contains U+{:04X}; control and bidi characters are not accepted", *c as u32)]
    ForbiddenChar {
        /// The field.
        field: &'static str,
        /// The first such character.
        c: char,
    },
    /// A field that must be a URL was not shaped like one.
    #[error("field `{field}` is not an http(s) URL: {why}")]
    NotAUrl {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A flag held something other than true/false (`1`/`0` in a form).
    #[error("field `{0}` must be true or false")]
    NotAFlag(&'static str),
    /// The request's `nonce` was malformed (see [`crate::nonce`]).
    #[error("field `nonce` {0}")]
    BadNonce(#[from] crate::nonce::NonceError),
}

impl Fields {
    /// Fields from a JSON body, which must be an object.
    pub fn from_json(bytes: &[u8]) -> Result<Fields, FieldsError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields::default());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            Ok(_) => Err(FieldsError::Body("top-level value is not an object".into())),
            Err(e) => Err(FieldsError::Body(e.to_string())),
        }
    }

    /// Fields from `application/x-www-form-urlencoded` pairs, every value a string.
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Fields {
        Fields(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    }

    /// Fields from any serializable request struct (what a client sends).
    pub fn from_serialize<T: serde::Serialize>(value: &T) -> Fields {
        match serde_json::to_value(value) {
            Ok(Value::Object(map)) => Fields(map),
            _ => Fields::default(),
        }
    }

    /// A required string: present, a string, and not empty.
    pub fn required(&self, name: &'static str) -> Result<String, FieldsError> {
        match self.0.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(FieldsError::Missing(name)),
        }
    }

    /// An optional string; anything but a non-empty string counts as absent.
    pub fn optional(&self, name: &str) -> Option<String> {
        match self.0.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    /// A required count whose key must be present; `0` is valid (v1's `get_room_list`).
    pub fn required_count(&self, name: &'static str) -> Result<usize, FieldsError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Err(FieldsError::Missing(name)),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or(FieldsError::NotANumber(name)),
            Some(Value::String(s)) if s.is_empty() => Err(FieldsError::Missing(name)),
            Some(Value::String(s)) => s.trim().parse().map_err(|_| FieldsError::NotANumber(name)),
            Some(_) => Err(FieldsError::NotANumber(name)),
        }
    }

    /// An optional flag: absent or null is false; JSON `true`/`false`, and the strings `true`,
    /// `false`, `1`, `0` (form data has no booleans) are read; anything else is refused.
    pub fn flag(&self, name: &'static str) -> Result<bool, FieldsError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
            Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
            Some(Value::String(s)) => match s.as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" | "" => Ok(false),
                _ => Err(FieldsError::NotAFlag(name)),
            },
            Some(_) => Err(FieldsError::NotAFlag(name)),
        }
    }

    /// The raw value of a field, for fields v1 passed through untouched (`mergeParams`).
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_fields(v: Value) -> Fields {
        Fields::from_json(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn flags_read_json_booleans_and_form_strings_and_refuse_the_rest() {
        let f = json_fields(json!({"a": true, "b": "0", "c": 1, "d": "yes", "e": [true]}));
        assert_eq!(f.flag("a"), Ok(true));
        assert_eq!(f.flag("b"), Ok(false));
        assert_eq!(f.flag("c"), Ok(true));
        assert_eq!(f.flag("absent"), Ok(false));
        assert_eq!(f.flag("d"), Err(FieldsError::NotAFlag("d")));
        assert_eq!(f.flag("e"), Err(FieldsError::NotAFlag("e")));
        let form = Fields::from_pairs([("a".to_owned(), "true".to_owned())]);
        assert_eq!(form.flag("a"), Ok(true));
    }

    #[test]
    fn missing_means_absent_empty_or_not_a_string() {
        let f = json_fields(json!({"a": "x", "b": "", "c": 5, "d": null}));
        assert_eq!(f.required("a").unwrap(), "x");
        for name in ["b", "c", "d", "e"] {
            let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
            assert_eq!(f.required(name), Err(FieldsError::Missing(name)));
        }
    }

    #[test]
    fn counts_accept_zero_numbers_and_numeric_strings() {
        let f =
            json_fields(json!({"index": 0, "cnt": "20", "neg": -1, "frac": 1.5, "word": "ten"}));
        assert_eq!(f.required_count("index"), Ok(0));
        assert_eq!(f.required_count("cnt"), Ok(20));
        assert_eq!(f.required_count("neg"), Err(FieldsError::NotANumber("neg")));
        assert_eq!(
            f.required_count("frac"),
            Err(FieldsError::NotANumber("frac"))
        );
        assert_eq!(
            f.required_count("word"),
            Err(FieldsError::NotANumber("word"))
        );
        assert_eq!(
            f.required_count("absent"),
            Err(FieldsError::Missing("absent"))
        );
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused() {
        assert!(matches!(
            Fields::from_json(b"[1,2]"),
            Err(FieldsError::Body(_))
        ));
        assert!(matches!(
            Fields::from_json(b"{\"a\":"),
            Err(FieldsError::Body(_))
        ));
        assert_eq!(Fields::from_json(b"  ").unwrap(), Fields::default());
    }

    #[test]
    fn form_pairs_are_strings() {
        let f = Fields::from_pairs([("index".into(), "0".into()), ("roomID".into(), "r".into())]);
        assert_eq!(f.required_count("index"), Ok(0));
        assert_eq!(f.required("roomID").unwrap(), "r");
    }
}
