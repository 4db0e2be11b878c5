//! The text side of the filter grammar shared by filters and PATCH paths: `not(` without a space
//! (valid in RFC 7644's ABNF, which the parser's `not` token does not accept) is spaced before
//! parsing, and a parse error is explained in our words, for a person: what is wrong and at which
//! character, never the parser generator's token names or expectation lists.

use scim_v2::filter::{FilterActionError, MAX_FILTER_DEPTH, MAX_FILTER_TERMS, ParseError};

/// Text made ready for the parser, with where spaces were added (to give positions in the text the
/// client sent).
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    /// The text to parse.
    pub text: std::borrow::Cow<'a, str>,
    /// Byte offsets in `text` of the spaces that were added, ascending.
    inserted: Vec<usize>,
}

impl Prepared<'_> {
    /// The byte offset in the client's text of byte offset `at` of the prepared text.
    fn original(&self, at: usize) -> usize {
        at - self.inserted.iter().filter(|&&i| i < at).count()
    }
}

/// Spaces every `not(` that stands as a word outside a string: `not(title pr)` reads as
/// `not (title pr)`. Other text is returned as it is, without a copy.
pub fn prepare(raw: &str) -> Prepared<'_> {
    let bytes = raw.as_bytes();
    let has_not_paren = bytes
        .windows(4)
        .any(|w| w[..3].eq_ignore_ascii_case(b"not") && w[3] == b'(');
    if !has_not_paren {
        return Prepared {
            text: raw.into(),
            inserted: Vec::new(),
        };
    }
    let mut out = String::with_capacity(raw.len() + 4);
    let mut inserted = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in raw.char_indices() {
        out.push(c);
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
            continue;
        }
        let word_start = i >= 2
            && raw
                .get(i - 2..=i)
                .is_some_and(|w| w.eq_ignore_ascii_case("not"))
            && raw[..i - 2]
                .chars()
                .next_back()
                .is_none_or(|p| p.is_whitespace() || p == '(' || p == '[');
        if word_start && bytes.get(i + 1) == Some(&b'(') {
            inserted.push(out.len());
            out.push(' ');
        }
    }
    Prepared {
        text: out.into(),
        inserted,
    }
}

/// What the parser could have taken next, grouped into phrases a person reads.
fn expected_phrase(expected: &[String]) -> Option<String> {
    let has = |names: &[&str]| {
        expected
            .iter()
            .any(|e| names.iter().any(|n| e.trim_matches('"') == *n))
    };
    let mut phrases: Vec<&str> = Vec::new();
    if has(&["AttrNameTok", "AttrPathTok"]) {
        phrases.push("an attribute name");
    }
    if has(&["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]) {
        phrases.push("an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)");
    } else if has(&["pr"]) {
        phrases.push("pr");
    }
    if has(&["StringLit", "NumberLit", "true", "false", "null"]) {
        phrases.push("a value (a \"quoted string\", a number, true, false or null)");
    }
    if has(&["and", "or"]) {
        phrases.push("\"and\", \"or\"");
    }
    if has(&["("]) && !has(&["AttrNameTok"]) {
        phrases.push("\"(\"");
    }
    if has(&[")"]) {
        phrases.push("a closing \")\"");
    }
    if has(&["]"]) {
        phrases.push("a closing \"]\"");
    }
    match phrases.as_slice() {
        [] => None,
        [one] => Some((*one).to_owned()),
        [rest @ .., last] => Some(format!("{}, or {last}", rest.join(", "))),
    }
}

/// At most 24 characters of `text` from byte `at`, for quoting.
fn excerpt(text: &str, at: usize) -> String {
    let rest = text.get(at..).unwrap_or_default();
    let cut: String = rest.chars().take(24).collect();
    if cut.len() < rest.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// The 1-based character position of byte `at` of `text`.
fn position(text: &str, at: usize) -> usize {
    text.get(..at).map_or(0, |s| s.chars().count()) + 1
}

/// Explains why `raw` (as the client sent it; `prepared` is what was parsed) does not parse, in
/// one sentence without the grammar's internals: what is wrong and where.
pub fn explain(raw: &str, prepared: &Prepared<'_>, error: &ParseError) -> String {
    // The parser reads the trimmed text: its offsets start after the leading spaces.
    let lead = prepared.text.len() - prepared.text.trim_start().len();
    let at = |offset: usize| prepared.original(offset + lead).min(raw.len());
    let expecting = |expected: &[String]| {
        expected_phrase(expected)
            .map(|p| format!("; expected {p}"))
            .unwrap_or_default()
    };
    match error {
        ParseError::InvalidToken { location } => {
            let start = at(*location);
            let rest = raw.get(start..).unwrap_or_default();
            let word = rest.trim_start();
            let operator = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
                .iter()
                .find(|op| word.get(..2).is_some_and(|w| w.eq_ignore_ascii_case(op)));
            if rest.starts_with('"') {
                format!(
                    "the string that opens at character {} has no closing quote (\")",
                    position(raw, start)
                )
            } else if let Some(op) = operator.filter(|_| word[2..].trim().is_empty()) {
                format!(
                    "\"{op}\" at character {} needs a value after it, such as \"text\"",
                    position(raw, start + (rest.len() - word.len()))
                )
            } else if rest.starts_with(char::is_whitespace) {
                let after = start + (rest.len() - word.len());
                let token: String = word
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .take(24)
                    .collect();
                format!(
                    "unexpected {token:?} at character {}: after a space comes an operator (eq, \
                     ne, co, sw, ew, gt, ge, lt, le or pr, with a space on both sides), and or or",
                    position(raw, after)
                )
            } else {
                format!(
                    "unexpected character {:?} at character {} (in {:?})",
                    rest.chars().next().unwrap_or(' '),
                    position(raw, start),
                    excerpt(raw, start)
                )
            }
        }
        ParseError::UnrecognizedEof { .. } if raw.trim().is_empty() => {
            "it is empty; a filter reads like userName eq \"ann\"".to_owned()
        }
        ParseError::UnrecognizedEof { expected, .. } => {
            format!(
                "the filter ends too early, after {:?}{}",
                excerpt_end(raw),
                expecting(expected)
            )
        }
        ParseError::UnrecognizedToken {
            token: (start, token, _),
            expected,
        } => {
            let word = token.trim();
            let from = at(*start) + leading_space(token);
            let nothing_after = raw
                .get(from + word.len()..)
                .is_none_or(|r| r.trim().is_empty());
            let keyword = |list: &[&str]| list.iter().any(|k| k.eq_ignore_ascii_case(word));
            let comparison = keyword(&["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]);
            if (comparison || keyword(&["and", "or"])) && nothing_after {
                format!(
                    "{word:?} at character {} needs {} after it",
                    position(raw, from),
                    if comparison {
                        "a value, such as \"text\","
                    } else {
                        "an expression"
                    }
                )
            } else if comparison || keyword(&["and", "or", "pr"]) {
                format!(
                    "{word:?} at character {} needs a space on both sides",
                    position(raw, from)
                )
            } else {
                format!(
                    "unexpected {word:?} at character {}{}",
                    position(raw, from),
                    expecting(expected)
                )
            }
        }
        ParseError::ExtraToken {
            token: (start, token, _),
        } => format!(
            "unexpected {:?} at character {} after a complete expression",
            token.trim(),
            position(raw, at(*start) + leading_space(token))
        ),
        ParseError::User { error } => match error {
            FilterActionError::InvalidAttrPath(p) => format!(
                "{p:?} is not an attribute path: a path names at most one sub-attribute \
                 (name.givenName)"
            ),
            FilterActionError::InvalidAttrName(p) => format!(
                "{p:?} is not an attribute path: each name starts with a letter, followed by \
                 letters, digits, \"_\" or \"-\""
            ),
            FilterActionError::InvalidCompValue(_) => {
                "a quoted value has an invalid escape (use \\\" for a quote, \\\\ for a \
                 backslash, \\uXXXX for other characters)"
                    .to_owned()
            }
            FilterActionError::DepthExceeded(_) => format!(
                "the filter nests deeper than {MAX_FILTER_DEPTH} levels of parentheses, \
                 brackets and not"
            ),
            FilterActionError::TooManyTerms(_) => {
                format!("the filter has more than {MAX_FILTER_TERMS} comparisons; split the query")
            }
            _ => "the filter cannot be read".to_owned(),
        },
    }
}

/// Bytes of leading whitespace in a token (operators carry theirs).
fn leading_space(token: &str) -> usize {
    token.len() - token.trim_start().len()
}

/// The last 24 characters of `raw`, for "ends too early after …".
fn excerpt_end(raw: &str) -> String {
    let trimmed = raw.trim_end();
    let count = trimmed.chars().count();
    if count <= 24 {
        trimmed.to_owned()
    } else {
        format!("…{}", trimmed.chars().skip(count - 24).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spaced(raw: &str) -> String {
        prepare(raw).text.into_owned()
    }

    #[test]
    fn not_without_a_space_is_spaced_outside_strings_only() {
        assert_eq!(spaced("not(title pr)"), "not (title pr)");
        assert_eq!(
            spaced("title pr and NOT(userName eq \"not(x\")"),
            "title pr and NOT (userName eq \"not(x\")"
        );
        assert_eq!(
            spaced("emails[not(type eq \"w\")]"),
            "emails[not (type eq \"w\")]"
        );
        assert_eq!(spaced("(not(title pr))"), "(not (title pr))");
        // Not a word of its own: left alone.
        assert_eq!(spaced("knot(x"), "knot(x");
        assert_eq!(
            spaced("userName eq \"a\\\"not(b\""),
            "userName eq \"a\\\"not(b\""
        );
    }

    #[test]
    fn positions_map_back_to_the_text_sent() {
        let p = prepare("not(not(x");
        assert_eq!(p.text, "not (not (x");
        assert_eq!(p.original(5), 4);
        assert_eq!(p.original(10), 8);
    }
}
