//! The house rules a reader can count: no source file over [`MAX_FILE_LINES`] and no Rust
//! function over [`MAX_FN_LINES`]. Tests, benches and examples are exempt (a test reads best as
//! one story); so are the rooms in [`NOT_YET_SPLIT`], each with why, until they are split.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// Longest source file, in lines.
pub const MAX_FILE_LINES: usize = 600;
/// Longest Rust function, in lines from its signature to its closing brace.
pub const MAX_FN_LINES: usize = 100;

/// Files and functions over the limits, known and waiting for their split: `path` or
/// `path::function`. A finding not listed fails the check; a listed one that is gone is
/// reported so the list shrinks with the code.
pub const NOT_YET_SPLIT: &[&str] = &[];

/// One place over a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `path` or `path::function`.
    pub place: String,
    /// Its length in lines.
    pub lines: usize,
}

/// Whether `path` is a test, bench or example, which the limits leave alone.
pub fn exempt(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.split('/')
        .any(|dir| matches!(dir, "tests" | "benches" | "examples"))
        || name == "tests.rs"
        || name.ends_with("_tests.rs")
        || name.ends_with(".test.ts")
        || name.ends_with(".d.ts")
}

/// The Rust functions of `text` longer than [`MAX_FN_LINES`], by name. A function ends at the
/// first line that closes at its own indentation, which `rustfmt` guarantees.
pub fn long_functions(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let Some((indent, name)) = fn_signature(line) else {
            continue;
        };
        let close = format!("{indent}}}");
        let Some(end) = lines[start..].iter().position(|l| *l == close) else {
            continue;
        };
        if line.trim_end().ends_with(';') {
            continue;
        }
        let length = end + 1;
        if length > MAX_FN_LINES {
            found.push((name, length));
        }
    }
    found
}

/// The indentation and name of a line that starts a function.
fn fn_signature(line: &str) -> Option<(&str, String)> {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    // `pub`, `pub(crate)`, `pub(in path)`…
    let mut rest = match trimmed.strip_prefix("pub(") {
        Some(scoped) => scoped.split_once(") ").map_or(trimmed, |(_, r)| r),
        None => trimmed.strip_prefix("pub ").unwrap_or(trimmed),
    };
    for prefix in ["const ", "async ", "unsafe "] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some((indent, name))
}

/// Every finding in the tracked sources under `root`.
pub fn findings(root: &Path) -> Result<Vec<Finding>> {
    let listed = Command::new("git")
        .args(["ls-files", "*.rs", "*.ts"])
        .current_dir(root)
        .output()
        .context("listing the sources with git")?;
    let mut found = Vec::new();
    for path in String::from_utf8_lossy(&listed.stdout).lines() {
        if exempt(path) {
            continue;
        }
        let text =
            std::fs::read_to_string(root.join(path)).with_context(|| format!("reading {path}"))?;
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES {
            found.push(Finding {
                place: path.to_owned(),
                lines,
            });
        }
        if path.ends_with(".rs") {
            found.extend(
                long_functions(&text)
                    .into_iter()
                    .map(|(name, lines)| Finding {
                        place: format!("{path}::{name}"),
                        lines,
                    }),
            );
        }
    }
    Ok(found)
}

/// Fails on any finding not in [`NOT_YET_SPLIT`]; prints the listed ones still there.
pub fn check(root: &Path) -> Result<()> {
    let found = findings(root)?;
    let (known, new): (Vec<_>, Vec<_>) = found
        .iter()
        .partition(|f| NOT_YET_SPLIT.contains(&f.place.as_str()));
    for f in &known {
        eprintln!(
            "xtask: house: {} is {} lines (listed, to split)",
            f.place, f.lines
        );
    }
    for gone in NOT_YET_SPLIT
        .iter()
        .filter(|p| !found.iter().any(|f| f.place == **p))
    {
        eprintln!("xtask: house: {gone} is within the limits now: take it off NOT_YET_SPLIT");
    }
    if !new.is_empty() {
        let list: Vec<String> = new
            .iter()
            .map(|f| format!("  {} ({} lines)", f.place, f.lines))
            .collect();
        bail!(
            "over the house limits ({MAX_FILE_LINES} lines a file, {MAX_FN_LINES} a function); \
             split by responsibility:\n{}",
            list.join("\n")
        );
    }
    eprintln!("xtask: house: every file and function within the limits");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_benches_and_examples_are_exempt() {
        assert!(exempt("crates/server/tests/endpoints.rs"));
        assert!(exempt("crates/call/src/call/tests.rs"));
        assert!(exempt("crates/call/src/quality_tests.rs"));
        assert!(exempt("crates/relay/examples/relay_bench.rs"));
        assert!(exempt("ui/src/views/views.test.ts"));
        assert!(!exempt("crates/call/src/call.rs"));
        assert!(!exempt("ui/src/views/call.ts"));
    }

    #[test]
    fn a_long_function_is_found_by_name_and_a_short_one_is_not() {
        let body = "    let x = 1;\n".repeat(MAX_FN_LINES);
        let text = format!(
            "fn short() {{\n}}\n\nimpl A {{\n    pub(in crate::a) async fn long(&self) {{\n{body}    }}\n}}\n"
        );
        assert_eq!(
            long_functions(&text),
            [("long".to_owned(), MAX_FN_LINES + 2)]
        );
        let exactly = "    let x = 1;\n".repeat(MAX_FN_LINES - 2);
        let text = format!("pub fn fits() {{\n{exactly}}}\n");
        assert!(long_functions(&text).is_empty());
    }

    #[test]
    fn a_trait_method_without_a_body_is_no_function() {
        let text = "trait T {\n    fn f(&self);\n}\n";
        assert!(long_functions(text).is_empty());
    }
}
