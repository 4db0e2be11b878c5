//! Filters (RFC 7644 §3.4.2.2): parsed once by `scim_v2`, bounded in length, then reduced to what the
//! storage layer can answer by an index.
//!
//! This is the front end of the filter compiler. It answers equality on the attributes that SCIM
//! clients match users by (`userName`, `externalId`, `id`), optionally URN-qualified; the rest of the
//! grammar is refused with `invalidFilter` naming what is supported, never silently ignored.

use scim_v2::filter::{AttrExp, CompValue, CompareOp, Filter};

use super::error::InputError;

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;

/// An equality lookup on one attribute, by its canonical name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equality {
    /// The canonical attribute name, e.g. `userName`.
    pub attribute: &'static str,
    /// The value compared with.
    pub value: String,
}

/// Parses `raw` and reduces it to an equality on one of `attributes` (canonical names), where
/// `core_urn` may qualify the attribute name.
pub fn parse_equality(
    raw: &str,
    core_urn: &str,
    attributes: &[&'static str],
) -> Result<Equality, InputError> {
    if raw.len() > MAX_FILTER_LEN {
        return Err(InputError::invalid_filter(format!(
            "the filter is {} bytes long; at most {MAX_FILTER_LEN} are accepted",
            raw.len()
        )));
    }
    let filter: Filter = raw.parse().map_err(|e| {
        InputError::invalid_filter(format!("the filter {raw:?} does not parse: {e}"))
    })?;
    let unsupported = || {
        InputError::invalid_filter(format!(
            "the filter {raw:?} is valid SCIM but not supported yet: this server answers \
             `<attribute> eq \"<string>\"` on {}",
            attributes.join(", ")
        ))
    };
    let Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(value))) = filter
    else {
        return Err(unsupported());
    };
    if path.sub_attr.is_some()
        || path
            .uri
            .as_deref()
            .is_some_and(|u| !u.eq_ignore_ascii_case(core_urn))
    {
        return Err(unsupported());
    }
    let attribute = attributes
        .iter()
        .find(|a| a.eq_ignore_ascii_case(&path.name))
        .ok_or_else(unsupported)?;
    Ok(Equality { attribute, value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::urn;

    const ATTRS: &[&str] = &["userName", "externalId", "id"];

    #[test]
    fn equality_on_known_attributes_in_any_case() {
        let eq = parse_equality(r#"USERNAME Eq "Bob@x""#, urn::USER, ATTRS).unwrap();
        assert_eq!(
            eq,
            Equality {
                attribute: "userName",
                value: "Bob@x".into()
            }
        );
        let qualified = format!(r#"{}:externalId eq "e1""#, urn::USER);
        assert_eq!(
            parse_equality(&qualified, urn::USER, ATTRS)
                .unwrap()
                .attribute,
            "externalId"
        );
    }

    #[test]
    fn everything_else_is_invalid_filter_with_a_reason() {
        for bad in [
            "userName eq",
            r#"title eq "x""#,
            r#"userName sw "x""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"name.givenName eq "x""#,
        ] {
            let err = parse_equality(bad, urn::USER, ATTRS).unwrap_err();
            assert_eq!(
                err.scim_type,
                crate::scim::error::ScimType::InvalidFilter,
                "{bad}"
            );
        }
        let long = format!(r#"userName eq "{}""#, "x".repeat(MAX_FILTER_LEN));
        assert!(
            parse_equality(&long, urn::USER, ATTRS)
                .unwrap_err()
                .detail
                .contains("at most")
        );
    }
}
