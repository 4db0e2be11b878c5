//! Text normalisation for case-insensitive search and uniqueness, done in Rust so both databases
//! agree (SQLite's `lower()` folds ASCII only).

use unicode_normalization::UnicodeNormalization;

/// The form a `caseExact: false` value is compared in: Unicode NFC, then lowercased by Unicode's
/// rules, so `ÉMILE`, `émile` and a decomposed `e\u{301}mile` all meet.
pub fn fold_case(value: &str) -> String {
    value.nfc().collect::<String>().to_lowercase()
}

/// The length of `value` in characters (Unicode scalar values), the unit of every length rule.
pub fn char_len(value: &str) -> usize {
    value.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_unicode_case_and_composition() {
        assert_eq!(fold_case("ÉMILE@Example.COM"), "émile@example.com");
        assert_eq!(fold_case("e\u{301}mile"), fold_case("ÉMILE"));
        assert_eq!(fold_case("ΣΊΣΥΦΟΣ"), "σίσυφος");
        assert_eq!(char_len("émile"), 5);
    }
}
