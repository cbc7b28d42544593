//! A depth check run before AMF0 bodies reach rml_amf0's decoder.
//!
//! That decoder recurses once per nested object or array, spending about 2 KiB of stack per
//! level in a debug build, so a few kilobytes of `{"k":{"k":{...` overflow a 2 MiB thread stack
//! and abort the whole process. This walk follows the same grammar without recursion and
//! measures the nesting; bodies nested deeper than any real command or metadata are refused.
//! Decoding itself is still rml_amf0's.

/// Deepest nesting accepted (real commands and metadata nest two or three levels).
pub(crate) const MAX_AMF_DEPTH: usize = 32;

const NUMBER: u8 = 0x00;
const BOOLEAN: u8 = 0x01;
const STRING: u8 = 0x02;
const OBJECT: u8 = 0x03;
const NULL: u8 = 0x05;
const UNDEFINED: u8 = 0x06;
const ECMA_ARRAY: u8 = 0x08;
const OBJECT_END: u8 = 0x09;
const STRICT_ARRAY: u8 = 0x0A;

/// Why a body was refused before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AmfShapeError {
    /// Nested deeper than [`MAX_AMF_DEPTH`].
    #[error("AMF0 nested deeper than {MAX_AMF_DEPTH} levels")]
    TooDeep,
    /// Not well-formed AMF0 of the kinds a relay needs.
    #[error("malformed AMF0 at byte {0}")]
    Malformed(usize),
}

enum Frame {
    /// Inside an object or ECMA array: properties until an empty name and the end marker.
    Object,
    /// Inside a strict array with this many values left.
    Array(u32),
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], AmfShapeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(AmfShapeError::Malformed(self.pos)),
        }
    }

    fn u16(&mut self) -> Result<usize, AmfShapeError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u32(&mut self) -> Result<u32, AmfShapeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }
}

/// Checks that `data`, a sequence of AMF0 values, nests at most [`MAX_AMF_DEPTH`] levels.
pub(crate) fn check_depth(data: &[u8]) -> Result<(), AmfShapeError> {
    let mut r = Reader { data, pos: 0 };
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        match stack.last_mut() {
            None => match r.peek() {
                // The decoder stops at the end or at a stray end marker.
                None | Some(OBJECT_END) => return Ok(()),
                Some(_) => {}
            },
            Some(Frame::Object) => {
                let name_len = r.u16()?;
                if name_len == 0 {
                    if r.take(1)? != [OBJECT_END] {
                        return Err(AmfShapeError::Malformed(r.pos - 1));
                    }
                    stack.pop();
                    continue;
                }
                r.take(name_len)?;
                // A property needs a value; the decoder treats a missing one as an error.
                if matches!(r.peek(), None | Some(OBJECT_END)) {
                    return Err(AmfShapeError::Malformed(r.pos));
                }
            }
            Some(Frame::Array(left)) => {
                if *left == 0 || r.peek().is_none() {
                    stack.pop();
                    continue;
                }
                // The decoder ends an array early at a stray end marker, consuming it.
                if r.peek() == Some(OBJECT_END) {
                    r.take(1)?;
                    stack.pop();
                    continue;
                }
                *left -= 1;
            }
        }
        let at = r.pos;
        match r.take(1)?[0] {
            NUMBER => {
                r.take(8)?;
            }
            BOOLEAN => {
                r.take(1)?;
            }
            STRING => {
                let len = r.u16()?;
                r.take(len)?;
            }
            NULL | UNDEFINED => {}
            OBJECT => stack.push(Frame::Object),
            ECMA_ARRAY => {
                r.u32()?;
                stack.push(Frame::Object);
            }
            STRICT_ARRAY => {
                let count = r.u32()?;
                stack.push(Frame::Array(count));
            }
            _ => return Err(AmfShapeError::Malformed(at)),
        }
        if stack.len() > MAX_AMF_DEPTH {
            return Err(AmfShapeError::TooDeep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rml_rtmp::rml_amf0::{self, Amf0Value};
    use std::collections::HashMap;

    fn nested(depth: usize) -> Amf0Value {
        let mut v = Amf0Value::Number(1.0);
        for i in 0..depth {
            v = match i % 3 {
                0 => Amf0Value::StrictArray(vec![Amf0Value::Null, v]),
                1 => Amf0Value::Object(HashMap::from([("k".to_owned(), v)])),
                _ => Amf0Value::Object(HashMap::from([
                    ("a".to_owned(), Amf0Value::Utf8String("x".into())),
                    ("b".to_owned(), v),
                ])),
            };
        }
        v
    }

    #[test]
    fn what_the_encoder_writes_passes_up_to_the_depth_limit() {
        let values = vec![
            Amf0Value::Utf8String("connect".into()),
            Amf0Value::Number(1.0),
            Amf0Value::Boolean(true),
            Amf0Value::Undefined,
            nested(MAX_AMF_DEPTH),
        ];
        let bytes = rml_amf0::serialize(&values).unwrap();
        assert_eq!(check_depth(&bytes), Ok(()));

        let bytes = rml_amf0::serialize(&vec![nested(MAX_AMF_DEPTH + 1)]).unwrap();
        assert_eq!(check_depth(&bytes), Err(AmfShapeError::TooDeep));
    }

    #[test]
    fn ecma_arrays_count_as_objects() {
        let mut body = vec![0x02, 0, 10];
        body.extend_from_slice(b"onMetaData");
        body.extend_from_slice(&[0x08, 0, 0, 0, 1, 0, 1, b'w', 0x00]);
        body.extend_from_slice(&640f64.to_be_bytes());
        body.extend_from_slice(&[0, 0, 0x09]);
        assert_eq!(check_depth(&body), Ok(()));
        let decoded = rml_amf0::deserialize(&mut std::io::Cursor::new(&body)).unwrap();
        assert_eq!(decoded.len(), 2);
    }

    #[test]
    fn hostile_nestings_are_refused_without_recursion() {
        for level in [
            &[0x0A, 0, 0, 0, 1][..],
            &[0x03, 0, 1, b'k'][..],
            &[0x08, 0, 0, 0, 0, 0, 1, b'k'][..],
        ] {
            let body: Vec<u8> = level
                .iter()
                .copied()
                .cycle()
                .take(level.len() * 100_000)
                .collect();
            assert_eq!(check_depth(&body), Err(AmfShapeError::TooDeep));
        }
    }

    #[test]
    fn truncated_and_unknown_values_are_malformed() {
        assert!(matches!(
            check_depth(&[0x00, 1, 2]),
            Err(AmfShapeError::Malformed(_))
        ));
        assert!(matches!(
            check_depth(&[0x02, 0, 5, b'a']),
            Err(AmfShapeError::Malformed(_))
        ));
        assert!(matches!(
            check_depth(&[0x11]),
            Err(AmfShapeError::Malformed(_))
        ));
        assert!(matches!(
            check_depth(&[0x03, 0, 1, b'k']),
            Err(AmfShapeError::Malformed(_))
        ));
        assert!(matches!(
            check_depth(&[0x03, 0, 0, 0x05]),
            Err(AmfShapeError::Malformed(_))
        ));
        assert_eq!(check_depth(&[]), Ok(()));
        // The decoder ends arrays early at a stray end marker, and so does the check, which
        // then goes on with the values after it as the decoder does.
        assert_eq!(check_depth(&[0x0A, 0, 0, 0, 9, 0x09]), Ok(()));
        let mut sneaky = vec![0x0A, 0, 0, 0, 9, 0x09];
        sneaky.extend([0x03, 0, 1, b'k'].repeat(MAX_AMF_DEPTH + 1));
        assert_eq!(check_depth(&sneaky), Err(AmfShapeError::TooDeep));
    }
}
