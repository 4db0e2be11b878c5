//! Text normalisation for case-insensitive search and uniqueness, done in Rust so both databases
//! agree (SQLite's `lower()` folds ASCII only).
//!
//! Two folds, for two purposes:
//! - [`fold_identity`] (Unicode NFKC_Casefold) for the identifiers whose uniqueness and lookups
//!   must not be fooled by look-alikes: userName, e-mail values and group displayName (DESIGN §4
//!   "Identity folding"). Their shadow columns hold it.
//! - [`fold_case`] (NFC + lowercase) for every other `caseExact: false` comparison, which the
//!   databases also compute at query time (a Rust function on SQLite, ICU on PostgreSQL).
//!
//! And the characters free text may hold ([`forbidden_char`]), one rule for every module's text.

use icu_casemap::CaseMapper;
use icu_normalizer::ComposingNormalizer;
use icu_properties::CodePointSetData;
use icu_properties::props::DefaultIgnorableCodePoint;
use unicode_normalization::UnicodeNormalization;

/// The form a `caseExact: false` value is compared in: Unicode NFC, then lowercased by Unicode's
/// rules, so `ÉMILE`, `émile` and a decomposed `e\u{301}mile` all meet.
pub fn fold_case(value: &str) -> String {
    value.nfc().collect::<String>().to_lowercase()
}

/// How many rounds of NFKC, case folding and removal [`fold_identity`] runs at most. Unicode
/// defines NFKC_Casefold as the closure of the three; real text settles in one or two rounds, and
/// the bound keeps a pathological input from looping.
const MAX_FOLD_ROUNDS: usize = 8;

/// The form an identifier (userName, an e-mail value, a group displayName) is compared in:
/// Unicode NFKC_Casefold, as RFC 8265's username profile and Unicode's identifier caseless matching
/// use it. NFKC maps compatibility forms to their plain letters (fullwidth `ＡＮＮ` → `ann`, the
/// ligature `ﬁ` → `fi`); full case folding equates case variants that lowercasing does not (`ß` and
/// `ss`, final `ς` and `σ`; `İ` folds to `i` followed by U+0307, so it meets `i̇`, not `i`); and
/// default-ignorable code points (zero-width space, soft hyphen, joiners, variation selectors)
/// are removed. The result is NFC and stable: folding it again changes nothing.
///
/// What it does not equate, by design of NFKC_Casefold: letters of different scripts that merely
/// look alike (Cyrillic `а` and Latin `a`). Control characters such as NUL are kept; callers
/// refuse them.
pub fn fold_identity(value: &str) -> String {
    // All three from ICU4X, so their Unicode versions agree: a character one step knows and
    // another does not would make the fold unstable.
    let nfkc = ComposingNormalizer::new_nfkc();
    let case = CaseMapper::new();
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    let mut current = nfkc.normalize(value).into_owned();
    for _ in 0..MAX_FOLD_ROUNDS {
        let kept: String = case
            .fold_string(&current)
            .chars()
            .filter(|&c| !ignorable.contains(c))
            .collect();
        let next = nfkc.normalize(&kept).into_owned();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// What separates a row's id from the fold in a [`distinct_shadow`]: a default-ignorable code
/// point, which [`fold_identity`] removes, so no identifier folds to a marked value.
const DISTINCT_MARK: char = '\u{200B}';

/// The shadow value of a row whose identifier folds to the same form as an older row's of the
/// account (data written before the identity fold; see `crate::refold`): the fold, U+200B and the
/// row's id. Both rows stay, and no new identifier can fold to this value.
pub fn distinct_shadow(folded: &str, id: &str) -> String {
    format!("{folded}{DISTINCT_MARK}{id}")
}

/// The shadow value to store for identifier `value` of row `id` whose stored shadow is `current`
/// (empty for a new row): the fold, except that a row marked distinct for that same fold keeps
/// its mark, so a write of its other attributes is not refused as a duplicate of the older row.
pub fn identity_shadow(value: &str, id: &str, current: &str) -> String {
    let folded = fold_identity(value);
    let marked = current
        .strip_prefix(folded.as_str())
        .and_then(|rest| rest.strip_prefix(DISTINCT_MARK))
        .is_some_and(|rest| rest == id);
    if marked { current.to_owned() } else { folded }
}

/// Whether a text attribute may span several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: no control character at all, no line or paragraph separator.
    Single,
    /// Several lines (addresses): CR, LF and TAB allowed, no other control character.
    Multi,
}

/// The first character of `value` that text of `lines` may not hold, if any.
pub fn forbidden_char(value: &str, lines: Lines) -> Option<char> {
    value.chars().find(|&c| match lines {
        // U+2028 and U+2029 are not Cc, but they break a line as surely as LF does.
        Lines::Single => c.is_control() || c == '\u{2028}' || c == '\u{2029}',
        Lines::Multi => c.is_control() && !matches!(c, '\r' | '\n' | '\t'),
    })
}

/// Why `value` is not acceptable text of `lines`, as a sentence naming `path` (the attribute as the
/// caller knows it) and the character's code point (never the value: it may be personal data).
pub fn forbidden_char_detail(path: &str, value: &str, lines: Lines) -> Option<String> {
    let c = forbidden_char(value, lines)?;
    let allowed = match lines {
        Lines::Single => {
            "single-line text may not contain line breaks, tabs or other control characters"
        }
        Lines::Multi => "text may not contain control characters other than line breaks and tabs",
    };
    Some(format!(
        "\"{path}\" contains the control character U+{:04X}; {allowed}",
        u32::from(c)
    ))
}

/// The length of `value` in characters (Unicode scalar values), the unit of every length rule.
pub fn char_len(value: &str) -> usize {
    value.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use icu_properties::props::{BinaryProperty, ChangesWhenNfkcCasefolded};
    use proptest::prelude::*;

    #[test]
    fn folds_unicode_case_and_composition() {
        assert_eq!(fold_case("ÉMILE@Example.COM"), "émile@example.com");
        assert_eq!(fold_case("e\u{301}mile"), fold_case("ÉMILE"));
        assert_eq!(fold_case("ΣΊΣΥΦΟΣ"), "σίσυφος");
        assert_eq!(char_len("émile"), 5);
    }

    /// The look-alikes of the hardening issue's finding 7, against `ann.fischer@example.com`.
    #[test]
    fn identity_fold_equates_the_look_alikes() {
        let plain = fold_identity("ann.fischer@example.com");
        assert_eq!(plain, "ann.fischer@example.com");
        for variant in [
            "ANN.FISCHER@EXAMPLE.COM",
            "ａｎｎ．ｆｉｓｃｈｅｒ＠ｅｘａｍｐｌｅ．ｃｏｍ", // fullwidth
            "ann.fi\u{200B}scher@example.com",                // zero-width space
            "ann.fi\u{AD}scher@example.com",                  // soft hyphen
            "ann.\u{FB01}scher@example.com",                  // the ligature ﬁ
            "ann.fischer@example.com\u{FE0F}",                // variation selector
            "ann.fischer@exam\u{200D}ple.com",                // zero-width joiner
            "ann.fischer@example.com\u{2060}",                // word joiner
            "\u{FEFF}ann.fischer@example.com",                // byte order mark
        ] {
            assert_eq!(fold_identity(variant), plain, "{variant:?}");
        }
    }

    #[test]
    fn identity_fold_uses_full_case_folding() {
        assert_eq!(fold_identity("Straße"), "strasse");
        assert_eq!(fold_identity("STRASSE"), "strasse");
        assert_eq!(fold_identity("stra\u{1E9E}e"), "strasse"); // capital ẞ
        // Final sigma folds to σ, so the word meets itself written with σ at the end.
        assert_eq!(fold_identity("σίσυφος"), fold_identity("σίσυφοσ"));
        assert_eq!(fold_identity("ΣΊΣΥΦΟΣ"), fold_identity("σίσυφος"));
        // Lowercasing alone kept these apart.
        assert_ne!(fold_case("Straße"), fold_case("STRASSE"));
        assert_ne!(fold_case("σίσυφος"), fold_case("σίσυφοσ"));
    }

    #[test]
    fn identity_fold_of_dotted_capital_i_keeps_the_dot() {
        // Full case folding maps İ (U+0130) to i + combining dot above (U+0307), not to i.
        assert_eq!(fold_identity("İlse"), "i\u{307}lse");
        assert_eq!(fold_identity("i\u{307}lse"), fold_identity("İlse"));
        assert_eq!(fold_identity("I\u{307}LSE"), fold_identity("İlse"));
        assert_ne!(fold_identity("İlse"), fold_identity("ilse"));
    }

    #[test]
    fn identity_fold_composes_like_nfc() {
        assert_eq!(fold_identity("E\u{301}MILE"), "émile");
        assert_eq!(fold_identity("émile"), "émile");
        assert_eq!(fold_identity("Ⅻ"), "xii"); // roman numeral: a compatibility form
        assert_eq!(fold_identity("²"), "2");
    }

    #[test]
    fn identity_fold_does_not_equate_scripts() {
        // Cyrillic а (U+0430) looks like Latin a and stays a different letter.
        assert_ne!(fold_identity("\u{430}nn"), fold_identity("ann"));
        assert_eq!(fold_identity("\u{410}NN"), "\u{430}nn");
    }

    #[test]
    fn identity_fold_keeps_controls_and_handles_edges() {
        assert_eq!(fold_identity("ann\0"), "ann\0");
        assert_eq!(fold_identity(""), "");
        assert_eq!(fold_identity("\u{200B}\u{AD}"), "");
    }

    #[test]
    fn identity_fold_never_yields_a_default_ignorable() {
        // The re-fold marks colliding rows with U+200B: no value may fold to a string with it.
        assert!(!fold_identity("a\u{200B}b").contains('\u{200B}'));
        assert!(!fold_identity("\u{FFA0}").contains('\u{3164}')); // halfwidth Hangul filler
    }

    #[test]
    fn a_distinct_shadow_is_kept_only_for_the_same_fold() {
        let marked = distinct_shadow("strasse", "u2");
        assert_eq!(marked, "strasse\u{200B}u2");
        assert_eq!(identity_shadow("Straße", "u2", &marked), marked);
        assert_eq!(identity_shadow("STRASSE", "u2", &marked), marked);
        assert_eq!(identity_shadow("Strasse2", "u2", &marked), "strasse2");
        assert_eq!(identity_shadow("Straße", "u3", &marked), "strasse");
        assert_eq!(identity_shadow("Straße", "u2", ""), "strasse");
        assert_eq!(identity_shadow("Straße", "u2", "straße"), "strasse");
        // No identifier folds to a marked value, whatever it spells.
        assert_ne!(fold_identity(&marked), marked);
    }

    /// Every single code point: the fold changes it exactly when Unicode's derived property
    /// Changes_When_NFKC_Casefolded says so (tested on NFC input, the form the fold returns).
    #[test]
    fn identity_fold_agrees_with_changes_when_nfkc_casefolded() {
        let mut wrong = Vec::new();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let s = c.to_string();
            if s.nfc().collect::<String>() != s {
                continue;
            }
            let changes = fold_identity(&s) != s;
            if changes != ChangesWhenNfkcCasefolded::for_char(c) {
                wrong.push(format!("U+{:04X}", u32::from(c)));
            }
        }
        assert!(
            wrong.is_empty(),
            "disagrees on {} code points: {wrong:?}",
            wrong.len()
        );
    }

    proptest! {
        #[test]
        fn identity_fold_is_stable(s in "\\PC{0,12}") {
            let once = fold_identity(&s);
            prop_assert_eq!(fold_identity(&once), once.clone());
            prop_assert!(!once.chars().any(|c| CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)));
        }

        #[test]
        fn identity_fold_ignores_lowercasing(s in "\\PC{0,12}") {
            prop_assert_eq!(fold_identity(&s.to_lowercase()), fold_identity(&s));
        }
    }
}
