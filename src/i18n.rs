//! Words for people outside e-mail: text messages and the CrewPlanner refusal page, in the four
//! languages e-mail is written in. The texts live in `templates/i18n/LANG.json` (embedded), beside
//! the e-mail words in `templates/email/i18n/`; English is the fallback of every key.
//!
//! One language-tag normaliser serves every module ([`language_code`], the same reading as
//! e-mail's [`Language::from_tag`]: `nl-BE` → `nl`), and [`negotiate`] reads an
//! `Accept-Language` header with its q-values.

use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use crate::email::templates::Language;

/// The longest language tag accepted (BCP 47's practical limit).
pub const MAX_TAG_LEN: usize = 35;

/// The language code (`en`, `nl`, `fr`, `de`) a BCP 47 tag names, if MobieTrain is written in it:
/// `nl-BE` and `nl_be` → `nl`. A tag of anything but letters, digits, `-` and `_`, or longer than
/// [`MAX_TAG_LEN`], names none.
pub fn language_code(tag: &str) -> Option<&'static str> {
    let tag = tag.trim();
    let well_formed = !tag.is_empty()
        && tag.len() <= MAX_TAG_LEN
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return None;
    }
    Language::from_tag(tag).map(Language::as_str)
}

/// The language an `Accept-Language` header prefers among those MobieTrain is written in: the
/// highest q-value wins (the earlier on a tie); `q=0` means "not this one"; `*` and unknown
/// languages are passed over. English when none fits or the header is absent or malformed.
pub fn negotiate(accept_language: Option<&str>) -> Language {
    let Some(header) = accept_language else {
        return Language::En;
    };
    let mut best: Option<(u16, Language)> = None;
    // A header of a few hundred bytes at most is read; anything beyond is ignored.
    for item in header.split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let mut q = 1000u16;
        for param in parts {
            if let Some(v) = param.trim().strip_prefix("q=") {
                q = parse_q(v.trim()).unwrap_or(0);
            }
        }
        let Some(language) = language_code(tag).and_then(Language::from_tag) else {
            continue;
        };
        if q > 0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, language));
        }
    }
    best.map_or(Language::En, |(_, l)| l)
}

/// A q-value (`0`, `0.5`, `1.000`) in thousandths.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

type Texts = BTreeMap<String, String>;

fn texts() -> &'static BTreeMap<&'static str, Texts> {
    static TEXTS: OnceLock<BTreeMap<&'static str, Texts>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        Language::ALL
            .into_iter()
            .map(|l| {
                let source = match l {
                    Language::En => include_str!("../templates/i18n/en.json"),
                    Language::Nl => include_str!("../templates/i18n/nl.json"),
                    Language::Fr => include_str!("../templates/i18n/fr.json"),
                    Language::De => include_str!("../templates/i18n/de.json"),
                };
                let parsed: Texts = serde_json::from_str(source).expect("embedded texts are JSON");
                (l.as_str(), parsed)
            })
            .collect()
    })
}

/// The text `key` in `language` (English when that language lacks it); the key itself when no
/// language has it (a unit test rules that out for every key English has).
pub fn text(language: Language, key: &str) -> &'static str {
    let all = texts();
    all.get(language.as_str())
        .and_then(|t| t.get(key))
        .or_else(|| all.get("en").and_then(|t| t.get(key)))
        .map_or("", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key_of_english() {
        let all = texts();
        let en: Vec<_> = all["en"].keys().collect();
        for l in Language::ALL {
            let keys: Vec<_> = all[l.as_str()].keys().collect();
            assert_eq!(keys, en, "{}", l.as_str());
            for (k, v) in &all[l.as_str()] {
                assert!(!v.trim().is_empty(), "{k} in {}", l.as_str());
            }
        }
    }

    #[test]
    fn tags_are_normalised_to_the_four_languages() {
        assert_eq!(language_code("nl-BE"), Some("nl"));
        assert_eq!(language_code("FR_be"), Some("fr"));
        assert_eq!(language_code("de"), Some("de"));
        assert_eq!(language_code("es-ES"), None);
        assert_eq!(language_code("nl;DROP"), None);
        assert_eq!(language_code(""), None);
        assert_eq!(language_code(&format!("nl-{}", "x".repeat(40))), None);
    }

    #[test]
    fn accept_language_honours_q_values() {
        assert_eq!(negotiate(Some("nl-BE,nl;q=0.9")), Language::Nl);
        assert_eq!(negotiate(Some("es;q=1, fr;q=0.8, de;q=0.9")), Language::De);
        assert_eq!(negotiate(Some("de;q=0, fr;q=0.1")), Language::Fr);
        assert_eq!(negotiate(Some("*, nl;q=0.5")), Language::Nl);
        assert_eq!(negotiate(Some("es, it")), Language::En);
        assert_eq!(
            negotiate(Some("fr;q=2, nl;q=0.3")),
            Language::Nl,
            "q=2 is no q-value"
        );
        assert_eq!(
            negotiate(Some("de, nl")),
            Language::De,
            "the earlier on a tie"
        );
        assert_eq!(negotiate(None), Language::En);
    }

    #[test]
    fn the_sign_in_code_text_is_one_gsm7_segment_in_every_language() {
        for l in Language::ALL {
            let body = text(l, "text.sign_in_code").replace("{code}", "123456");
            let size = crate::sms::segments::count(&body);
            assert_eq!(
                (size.encoding, size.count),
                (crate::sms::segments::Encoding::Gsm7, 1),
                "{body}"
            );
        }
    }
}
