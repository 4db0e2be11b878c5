//! Phone numbers and ITU country calling codes, read with the `phonenumber` crate's metadata: the
//! small kernel users, stores and invitations share.

/// The parsed form of a phone number that carries its country code, in E.164 (`+32470123456`).
pub fn e164(value: &str) -> Option<String> {
    let trimmed = value.trim();
    let international = trimmed.starts_with('+') || trimmed.starts_with("tel:+");
    if !international {
        return None;
    }
    let number = phonenumber::parse(None, trimmed).ok()?;
    Some(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Why a number cannot receive text messages ([`textable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotTextable {
    /// It does not start with `+` and its country code.
    NoCountryCode,
    /// No number of its country has this length or prefix.
    Invalid,
    /// A landline, which a text message cannot reach.
    Landline,
}

/// The number in E.164 when a text message can be sent to it: it carries its country code, is a
/// valid number of that country, and is not a landline (mobile, or a country where the two
/// cannot be told apart).
pub fn textable(value: &str) -> Result<String, NotTextable> {
    let e164 = e164(value).ok_or(NotTextable::NoCountryCode)?;
    let number = phonenumber::parse(None, &e164).map_err(|_| NotTextable::Invalid)?;
    if !number.is_valid() {
        return Err(NotTextable::Invalid);
    }
    match number.number_type(&phonenumber::metadata::DATABASE) {
        phonenumber::Type::FixedLine => Err(NotTextable::Landline),
        _ => Ok(e164),
    }
}

/// The ITU country calling code in `raw`, if it names one that exists: the code itself (`"32"`,
/// `"+32"`) or the ISO 3166-1 alpha-2 code of a country or region (`"BE"`, `"be"`), the form identity
/// providers hold countries in. Several regions share a code (`"US"` and `"CA"` are both `"1"`).
pub fn calling_code(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.len() == 2 && trimmed.bytes().all(|b| b.is_ascii_alphabetic()) {
        let region = trimmed.to_ascii_uppercase();
        // "001" style non-geographic entities are not regions; a two-letter id is one.
        return phonenumber::metadata::DATABASE
            .by_id(&region)
            .map(|m| m.country_code().to_string());
    }
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    phonenumber::metadata::DATABASE
        .by_code(&code)
        .map(|_| code.to_string())
}

/// Every ITU country calling code the metadata knows, as [`calling_code`] writes it (`"1"`,
/// `"32"`), in numeric order: the closed set `/Schemas` publishes as `canonicalValues`.
pub fn calling_codes() -> Vec<String> {
    let mut codes: Vec<u16> = phonenumber::metadata::DATABASE
        .iter()
        .map(|m| m.country_code())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes.into_iter().map(|c| c.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_with_and_without_country_code() {
        assert_eq!(e164("+32 470 12 34 56").as_deref(), Some("+32470123456"));
        assert_eq!(e164("0470 12 34 56"), None);
        assert_eq!(
            e164("tel:+32-470-12-34-56").as_deref(),
            Some("+32470123456")
        );
    }

    #[test]
    fn texts_reach_valid_mobile_numbers_only() {
        assert_eq!(textable("+32 470 12 34 56").as_deref(), Ok("+32470123456"));
        assert_eq!(textable("+31 6 12345678").as_deref(), Ok("+31612345678"));
        assert_eq!(textable("0470 12 34 56"), Err(NotTextable::NoCountryCode));
        assert_eq!(textable("+32 470 12"), Err(NotTextable::Invalid));
        assert_eq!(textable("+32 2 555 01 00"), Err(NotTextable::Landline));
    }

    #[test]
    fn calling_codes_are_itu_ones() {
        assert_eq!(calling_code("32").as_deref(), Some("32"));
        assert_eq!(calling_code("+1").as_deref(), Some("1"));
        assert_eq!(calling_code("999"), None);
        assert_eq!(calling_code("3a"), None);
        assert_eq!(calling_code(""), None);
    }

    #[test]
    fn calling_codes_from_iso_country_codes() {
        assert_eq!(calling_code("BE").as_deref(), Some("32"));
        assert_eq!(calling_code(" be ").as_deref(), Some("32"));
        assert_eq!(calling_code("NL").as_deref(), Some("31"));
        assert_eq!(calling_code("US").as_deref(), Some("1"));
        assert_eq!(calling_code("CA").as_deref(), Some("1"));
        assert_eq!(calling_code("GB").as_deref(), Some("44"));
        assert_eq!(calling_code("XX"), None);
        assert_eq!(calling_code("B"), None);
        assert_eq!(calling_code("BEL"), None);
        assert_eq!(calling_code("Bé"), None);
    }

    #[test]
    fn every_listed_calling_code_is_accepted() {
        let codes = calling_codes();
        assert!(codes.len() > 200 && codes.contains(&"32".to_owned()));
        for code in &codes {
            assert_eq!(calling_code(code).as_ref(), Some(code));
        }
    }
}
