//! Per-field limits of requests: lengths no real client meets, and characters that only serve to
//! forge or hide text (control and bidi characters) refused in names.
//!
//! Lengths of names are counted in characters (what a person types); IDs and URLs in bytes.

use crate::fields::FieldsError;

/// Longest `userName`, in characters: a WeChat nickname is at most 32, so twice that.
pub const MAX_USER_NAME_CHARS: usize = 64;
/// Longest `roomName`, in characters: a title typed in a lobby, with room for a long one.
pub const MAX_ROOM_NAME_CHARS: usize = 128;
/// Longest `userAvatar`, in bytes: WeChat avatar URLs are ~150 bytes; 2 KiB is the classic URL
/// length every browser and proxy accepts.
pub const MAX_AVATAR_BYTES: usize = 2048;
/// Longest `roomID` or `userID`, in bytes: generated IDs are ~30 bytes (`room_<ms>_<counter>`).
pub const MAX_ID_BYTES: usize = 128;
/// Longest `userIDPrefix`, in bytes: v1 sent a short app tag.
pub const MAX_USER_ID_PREFIX_BYTES: usize = 32;
/// Longest `pushURL`, in bytes: a signed RTMP URL is ~150 bytes.
pub const MAX_PUSH_URL_BYTES: usize = 2048;

/// Schemes an avatar may name: web URLs, and `quartet:` placeholders (`quartet:initials`, which
/// Quartet's clients send when no picture is set and draw as the member's initials).
pub const AVATAR_SCHEMES: [&str; 3] = ["http", "https", "quartet"];

/// The avatar Quartet's clients send when no picture is set: drawn as the member's initials
/// (v1 servers refuse an empty one).
pub const INITIALS_AVATAR: &str = "quartet:initials";

/// Whether `c` is a control character: C0, DEL or C1.
pub fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// Whether `c` changes the direction of the text around it: embeddings and overrides
/// (U+202A–U+202E), isolates (U+2066–U+2069) and the directional marks (U+200E, U+200F, U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}'
    )
}

/// Whether `c` may not appear in a name: it could hide, reorder or forge the text shown.
pub fn is_forbidden_in_name(c: char) -> bool {
    is_control(c) || is_bidi_control(c)
}

fn too_long(field: &'static str, len: usize, max: usize, unit: &'static str) -> FieldsError {
    FieldsError::TooLong {
        field,
        len,
        max,
        unit,
    }
}

fn no_forbidden(field: &'static str, value: &str) -> Result<(), FieldsError> {
    match value.chars().find(|&c| is_forbidden_in_name(c)) {
        Some(c) => Err(FieldsError::ForbiddenChar { field, c }),
        None => Ok(()),
    }
}

/// A display name (`userName`, `roomName`): at most `max_chars` characters, no control or bidi
/// characters.
pub fn check_name(field: &'static str, value: &str, max_chars: usize) -> Result<(), FieldsError> {
    let len = value.chars().count();
    if len > max_chars {
        return Err(too_long(field, len, max_chars, "characters"));
    }
    no_forbidden(field, value)
}

/// An identifier or other machine-read string: at most `max_bytes` bytes, no control or bidi
/// characters.
pub fn check_token(field: &'static str, value: &str, max_bytes: usize) -> Result<(), FieldsError> {
    if value.len() > max_bytes {
        return Err(too_long(field, value.len(), max_bytes, "bytes"));
    }
    no_forbidden(field, value)
}

/// An avatar: blank (v1 mini-programs sometimes send that), or something shaped like a URL of at
/// most [`MAX_AVATAR_BYTES`]: no whitespace or control characters inside, and when it names a
/// scheme, one of [`AVATAR_SCHEMES`] (so `javascript:` or `data:` never reach a page).
pub fn check_avatar(field: &'static str, value: &str) -> Result<(), FieldsError> {
    check_token(field, value, MAX_AVATAR_BYTES)?;
    let url = value.trim();
    if url.is_empty() {
        return Ok(());
    }
    if url.chars().any(char::is_whitespace) {
        return Err(FieldsError::NotAUrl {
            field,
            why: "it contains whitespace",
        });
    }
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|s| !s.contains(['/', '?', '#']));
    match scheme {
        Some(s) if !AVATAR_SCHEMES.iter().any(|ok| s.eq_ignore_ascii_case(ok)) => {
            Err(FieldsError::NotAUrl {
                field,
                why: "only http, https and quartet: URLs are accepted",
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_in_characters_not_bytes() {
        let cjk = "房".repeat(MAX_USER_NAME_CHARS);
        assert_eq!(check_name("userName", &cjk, MAX_USER_NAME_CHARS), Ok(()));
        let over = "a".repeat(MAX_USER_NAME_CHARS + 1);
        assert_eq!(
            check_name("userName", &over, MAX_USER_NAME_CHARS),
            Err(FieldsError::TooLong {
                field: "userName",
                len: 65,
                max: 64,
                unit: "characters"
            })
        );
    }

    #[test]
    fn control_and_bidi_characters_are_refused_in_names() {
        for c in [
            '\0', '\u{1b}', '\n', '\r', '\u{7f}', '\u{85}', '\u{9f}', '\u{202e}', '\u{202a}',
            '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}',
        ] {
            let name = format!("Ann{c}x");
            assert_eq!(
                check_name("roomName", &name, 100),
                Err(FieldsError::ForbiddenChar {
                    field: "roomName",
                    c
                }),
                "{c:?}"
            );
        }
        assert_eq!(check_name("roomName", "Ann's room 🎉 房间", 100), Ok(()));
        let e = check_name("roomName", "a\u{202e}b", 100).unwrap_err();
        assert!(e.to_string().contains("U+202E"), "{e}");
    }

    #[test]
    fn avatars_are_urls_or_blank() {
        for ok in [
            "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132",
            "http://h/a.png",
            "a.png",
            "/assets/avatar.png",
            " ",
            "HTTPS://X/y?z=1:2",
            "quartet:initials",
        ] {
            assert_eq!(check_avatar("userAvatar", ok), Ok(()), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "a b.png",
            "x\u{0}",
        ] {
            assert!(check_avatar("userAvatar", bad).is_err(), "{bad}");
        }
        let long = format!("https://h/{}", "a".repeat(MAX_AVATAR_BYTES));
        assert!(matches!(
            check_avatar("userAvatar", &long),
            Err(FieldsError::TooLong {
                max: MAX_AVATAR_BYTES,
                ..
            })
        ));
    }

    #[test]
    fn ids_are_bounded_in_bytes() {
        let id = "r".repeat(MAX_ID_BYTES);
        assert_eq!(check_token("roomID", &id, MAX_ID_BYTES), Ok(()));
        assert!(check_token("roomID", &format!("{id}r"), MAX_ID_BYTES).is_err());
    }
}
