//! Stream URLs as logs show them: a push URL's query is its signature (`txSecret`, `txTime`), and
//! whoever reads it in a shared log could take the stream over until it expires.

use std::fmt;

/// Shows a URL without the values of its query.
pub(crate) struct Redacted<'a>(pub(crate) &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((base, query)) = self.0.split_once('?') else {
            return f.write_str(self.0);
        };
        f.write_str(base)?;
        for (i, pair) in query.split('&').enumerate() {
            let key = pair.split_once('=').map_or(pair, |(key, _)| key);
            write!(f, "{}{key}=…", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
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
    }
}
