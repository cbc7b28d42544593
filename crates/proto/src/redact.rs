//! Secrets as logs show them: a stream URL's query is its signature (`txSecret`, `txTime`) and a
//! `userSig` is a credential for weeks, so neither may reach a log line that someone else reads
//! (a shared bug report, a server's log files).

use std::borrow::Cow;
use std::fmt;

/// Query parameters and fields whose values are credentials, matched without regard to case.
pub const SECRET_NAMES: [&str; 3] = ["txSecret", "userSig", "txTime"];
/// What a hidden value is shown as.
pub const HIDDEN: &str = "…";

/// Shows a URL without the values of its query (names kept, so a reader still sees its shape).
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((base, query)) = self.0.split_once('?') else {
            return f.write_str(self.0);
        };
        f.write_str(base)?;
        for (i, pair) in query.split('&').enumerate() {
            let key = pair.split_once('=').map_or(pair, |(key, _)| key);
            write!(f, "{}{key}={HIDDEN}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// `text` (a log line, a value's `Debug` output) with the value after every `name=` of
/// [`SECRET_NAMES`] hidden, up to the next delimiter of a URL, JSON or Rust debug output.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    let mut hide: Vec<(usize, usize)> = Vec::new();
    for name in SECRET_NAMES {
        let pattern = format!("{}=", name.to_ascii_lowercase());
        let mut from = 0;
        while let Some(at) = lower[from..].find(&pattern) {
            let start = from + at + pattern.len();
            let len = text[start..]
                .find(|c: char| {
                    matches!(c, '&' | '"' | '\'' | ',' | ')' | '}' | ']' | '#' | '\\')
                        || c.is_whitespace()
                })
                .unwrap_or(text.len() - start);
            if len > 0 {
                hide.push((start, start + len));
            }
            from = start;
        }
    }
    if hide.is_empty() {
        return Cow::Borrowed(text);
    }
    hide.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in hide {
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(HIDDEN);
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_hidden_and_their_names_kept() {
        let shown = |url| Redacted(url).to_string();
        assert_eq!(
            shown("rtmp://h:1935/live/8888_u1?bizid=8888&txSecret=0f3a&txTime=65A0"),
            "rtmp://h:1935/live/8888_u1?bizid=…&txSecret=…&txTime=…"
        );
        assert_eq!(shown("rtmp://h/live/a?flag"), "rtmp://h/live/a?flag=…");
        assert_eq!(shown("rtmp://h/live/a"), "rtmp://h/live/a");
        assert_eq!(shown(""), "");
        assert_eq!(format!("{:?}", Redacted("x?a=1")), "\"x?a=…\"");
    }

    #[test]
    fn secrets_are_scrubbed_from_urls_in_any_text() {
        let debug = r#"Joined { members: [Member { play_url: "rtmp://h/live/8888_u?bizid=8888&txSecret=0f3a&txTime=65A0", x: 1 }] }"#;
        assert_eq!(
            scrub(debug),
            r#"Joined { members: [Member { play_url: "rtmp://h/live/8888_u?bizid=8888&txSecret=…&txTime=…", x: 1 }] }"#
        );
        assert_eq!(
            scrub("GET /events?roomID=r&USERSIG=abc.def+g== HTTP/1.1"),
            "GET /events?roomID=r&USERSIG=… HTTP/1.1"
        );
        assert_eq!(scrub("usersig=x"), "usersig=…");
        assert!(matches!(scrub("nothing secret here"), Cow::Borrowed(_)));
        assert_eq!(scrub("txSecret="), "txSecret=");
    }
}
