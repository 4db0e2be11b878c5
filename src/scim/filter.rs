//! Filters (RFC 7644 §3.4.2.2): bounded in length, parsed once by `scim_v2` (which bounds depth and
//! terms while parsing), after one normaliser has rewritten what Entra ID sends that the grammar
//! rejects. The normaliser only runs when the text as sent does not parse (or, for Entra's
//! `attr[…].sub op value`, cannot), so a valid filter is never changed; each rewrite it makes is
//! reported for counting.

use scim_v2::filter::Filter;

use super::dialect::Rewrite;
use super::error::InputError;
use super::syntax;

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;

/// A parsed filter and the rewrites that made it parse.
#[derive(Debug, Clone)]
pub struct ParsedFilter {
    /// The filter.
    pub filter: Filter,
    /// The dialect rewrites applied (empty for a filter that parsed as sent).
    pub rewrites: Vec<Rewrite>,
}

/// Parses a filter as a client sent it. A filter that does not parse is a 400 `invalidFilter` whose
/// `detail` says what is wrong and where ([`syntax::explain`]).
pub fn parse(raw: &str) -> Result<ParsedFilter, InputError> {
    if raw.len() > MAX_FILTER_LEN {
        return Err(InputError::invalid_filter(format!(
            "the filter is {} bytes long; at most {MAX_FILTER_LEN} are accepted",
            raw.len()
        )));
    }
    // Entra's e-mail lookup (`emails[type eq "work"].value eq "x"`) never parses as sent: a
    // sub-attribute after a value path's `]` has no place in the grammar. Rewriting it first spares
    // the parser a failed attempt, which cost as much again as a successful parse (README
    // "Performance"); the rewrite only applies where `].` is followed by a comparison, outside
    // quotes, so any other text containing `].` still takes the path below.
    if raw.contains("].") {
        let (text, rewrites) = normalize(raw);
        if rewrites.contains(&Rewrite::ValuePathSubAttribute)
            && let Ok(filter) = syntax::prepare(&text).text.parse::<Filter>()
        {
            return Ok(ParsedFilter { filter, rewrites });
        }
    }
    let prepared = syntax::prepare(raw);
    match prepared.text.parse::<Filter>() {
        Ok(filter) => Ok(ParsedFilter {
            filter,
            rewrites: Vec::new(),
        }),
        Err(original) => {
            let (text, rewrites) = normalize(raw);
            match (
                rewrites.is_empty(),
                syntax::prepare(&text).text.parse::<Filter>(),
            ) {
                (false, Ok(filter)) => Ok(ParsedFilter { filter, rewrites }),
                _ => Err(InputError::invalid_filter(format!(
                    "the filter {} does not parse: {}",
                    quoted(raw),
                    syntax::explain(raw, &prepared, &original)
                ))),
            }
        }
    }
}

/// The filter quoted for a message, cut after 100 characters.
fn quoted(raw: &str) -> String {
    if raw.chars().count() <= 100 {
        format!("{raw:?}")
    } else {
        format!("{:?}…", raw.chars().take(100).collect::<String>())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Space(String),
    Open(char),
    Close(char),
    Quoted(String),
    Word(String),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Space(s) | Tok::Quoted(s) | Tok::Word(s) => s.clone(),
            Tok::Open(c) | Tok::Close(c) => c.to_string(),
        }
    }
}

fn tokenize(raw: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = raw.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            let mut s = String::new();
            while let Some(&c) = chars.peek().filter(|c| c.is_whitespace()) {
                s.push(c);
                chars.next();
            }
            out.push(Tok::Space(s));
        } else if c == '(' || c == '[' {
            out.push(Tok::Open(c));
            chars.next();
        } else if c == ')' || c == ']' {
            out.push(Tok::Close(c));
            chars.next();
        } else if c == '"' {
            let mut s = String::from('"');
            chars.next();
            let mut escaped = false;
            for c in chars.by_ref() {
                s.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    break;
                }
            }
            out.push(Tok::Quoted(s));
        } else {
            let mut s = String::new();
            while let Some(&c) = chars
                .peek()
                .filter(|c| !c.is_whitespace() && !"()[]\"".contains(**c))
            {
                s.push(c);
                chars.next();
            }
            out.push(Tok::Word(s));
        }
    }
    out
}

const COMPARISONS: &[&str] = &["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];

fn is_comparison(tok: Option<&Tok>) -> bool {
    matches!(tok, Some(Tok::Word(w)) if COMPARISONS.iter().any(|op| op.eq_ignore_ascii_case(w)))
}

fn is_literal(word: &str) -> bool {
    ["true", "false", "null"]
        .iter()
        .any(|l| l.eq_ignore_ascii_case(word))
        || word.parse::<f64>().is_ok()
}

/// Rewrites Entra ID's non-RFC filter forms; returns the new text and what was rewritten.
pub fn normalize(raw: &str) -> (String, Vec<Rewrite>) {
    let mut toks = tokenize(raw);
    let mut rewrites = Vec::new();

    // `attr[inner].sub op value` → `attr[(inner) and sub op value]`.
    let mut i = 0;
    while i < toks.len() {
        let sub_follows = matches!(&toks[i], Tok::Close(']'))
            && matches!(toks.get(i + 1), Some(Tok::Word(w)) if w.starts_with('.') && w.len() > 1)
            && matches!(toks.get(i + 2), Some(Tok::Space(_)))
            && is_comparison(toks.get(i + 3))
            && matches!(toks.get(i + 4), Some(Tok::Space(_)))
            && matches!(toks.get(i + 5), Some(Tok::Quoted(_) | Tok::Word(_)));
        let open = sub_follows
            .then(|| {
                let mut depth = 0;
                (0..i).rev().find(|&j| match &toks[j] {
                    Tok::Close(']') => {
                        depth += 1;
                        false
                    }
                    Tok::Open('[') if depth == 0 => true,
                    Tok::Open('[') => {
                        depth -= 1;
                        false
                    }
                    _ => false,
                })
            })
            .flatten();
        if let Some(open) = open {
            let sub = toks[i + 1].text()[1..].to_owned();
            let (op, value) = (toks[i + 3].text(), toks[i + 5].clone());
            let mut inner = vec![Tok::Open('(')];
            inner.extend(toks[open + 1..i].iter().cloned());
            inner.extend([
                Tok::Close(')'),
                Tok::Space(" ".into()),
                Tok::Word("and".into()),
                Tok::Space(" ".into()),
                Tok::Word(sub),
                Tok::Space(" ".into()),
                Tok::Word(op),
                Tok::Space(" ".into()),
                value,
            ]);
            inner.push(Tok::Close(']'));
            // Replace `inner ] .sub op value` (from after `[` through the value) in one splice.
            toks.splice(open + 1..i + 6, inner);
            rewrites.push(Rewrite::ValuePathSubAttribute);
            i = open;
        }
        i += 1;
    }

    // `attr op word` with an unquoted word → `attr op "word"`.
    for i in 0..toks.len() {
        let unquoted = matches!(&toks[i], Tok::Word(w) if !is_literal(w) && !w.starts_with('.'))
            && i >= 2
            && matches!(toks[i - 1], Tok::Space(_))
            && is_comparison(toks.get(i - 2))
            && i >= 4
            && matches!(toks[i - 3], Tok::Space(_))
            && matches!(toks[i - 4], Tok::Word(_) | Tok::Close(']'));
        if unquoted {
            let word = toks[i].text();
            toks[i] = Tok::Quoted(serde_json::Value::String(word).to_string());
            rewrites.push(Rewrite::UnquotedFilterValue);
        }
    }
    (toks.iter().map(Tok::text).collect(), rewrites)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_filters_parse_unchanged() {
        for f in [
            r#"userName eq "bjensen""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            r#"title pr"#,
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
            r#"active eq true"#,
            r#"addresses[primary EQ "True"]"#,
            r#"userName eq "a\"quoted\" name""#,
            // From CLIENTS.md: Entra's matching, AlternateFilters and group lookups, Okta's.
            r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee""#,
            r#"ID eq "00aa00aa-bb11" and manager eq "11bb11bb-cc22""#,
            r#"displayName eq "displayName""#,
            r#"userName eq "test.user@okta.local""#,
            r#"emails[type eq "work"]"#,
            // RFC 7644's ABNF puts no space between `not` and `(`.
            r#"not(userName pr) and emails[not(type eq "work")]"#,
            // `].` inside a string is text, not Entra's value-path form.
            r#"userName eq "a].value eq b""#,
        ] {
            let parsed = parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(parsed.rewrites.is_empty(), "{f} was rewritten");
        }
    }

    #[test]
    fn entra_forms_are_rewritten_and_reported() {
        let cases = [
            (
                "externalId eq jyoung",
                r#"externalId eq "jyoung""#,
                vec![Rewrite::UnquotedFilterValue],
            ),
            (
                r#"emails[type eq "work"].value eq "a@b.c""#,
                r#"emails[(type eq "work") and value eq "a@b.c"]"#,
                vec![Rewrite::ValuePathSubAttribute],
            ),
            (
                "userName eq a@b.c and externalId eq x1",
                r#"userName eq "a@b.c" and externalId eq "x1""#,
                vec![Rewrite::UnquotedFilterValue, Rewrite::UnquotedFilterValue],
            ),
        ];
        for (raw, expected, rewrites) in cases {
            let (text, got) = normalize(raw);
            assert_eq!(text, expected, "{raw}");
            assert_eq!(got, rewrites, "{raw}");
            let parsed = parse(raw).unwrap();
            assert_eq!(parsed.filter, expected.parse::<Filter>().unwrap(), "{raw}");
        }
    }

    #[test]
    fn invalid_filters_are_invalid_filter_errors_naming_the_input() {
        for f in [
            "userName eq",
            "userName bogus \"x\"",
            "(userName eq \"x\"",
            "userName eq \"x\" and",
            "emails[type eq \"work\"",
            "",
            "not userName eq \"x\"",
            "emails[type eq \"work\"].value eq",
            "emails[type eq \"work\"].value eq \"x\" and",
        ] {
            let err = parse(f).unwrap_err();
            assert_eq!(
                err.scim_type,
                crate::scim::error::ScimType::InvalidFilter,
                "{f}"
            );
            assert!(err.detail.contains("does not parse"), "{f}: {}", err.detail);
            // In our words: where, and never the parser generator's internals.
            assert!(
                ["character", "ends too early", "empty"]
                    .iter()
                    .any(|w| err.detail.contains(w)),
                "{f}: {}",
                err.detail
            );
            for internal in ["Expected one of", "Unrecognized", "Tok", "Lit", "\\s+"] {
                assert!(!err.detail.contains(internal), "{f}: {}", err.detail);
            }
        }
        let deep = format!("{}userName eq \"x\"{}", "(".repeat(200), ")".repeat(200));
        assert!(parse(&deep).is_err(), "nesting is bounded");
        let long = format!(r#"userName eq "{}""#, "x".repeat(MAX_FILTER_LEN));
        assert!(parse(&long).unwrap_err().detail.contains("at most"));
    }
}
