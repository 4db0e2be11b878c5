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

/// The ITU country calling code in `raw` (`"32"`, or `"+32"`), if it is one that exists.
pub fn calling_code(raw: &str) -> Option<String> {
    let digits = raw.trim().strip_prefix('+').unwrap_or(raw.trim());
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
    fn calling_codes_are_itu_ones() {
        assert_eq!(calling_code("32").as_deref(), Some("32"));
        assert_eq!(calling_code("+1").as_deref(), Some("1"));
        assert_eq!(calling_code("999"), None);
        assert_eq!(calling_code("3a"), None);
        assert_eq!(calling_code(""), None);
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
