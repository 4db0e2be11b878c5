//! A signed JWT a client presents (RFC 7523): as client authentication (`private_key_jwt`, §2.2)
//! or as the JWT-bearer grant (§2.1). Checked in the order that costs an attacker most and us
//! least: shape, key and algorithm (pinned by the key, [`crate::jwks::candidates`]), signature,
//! then the claims: `iss` = `sub` = the client id, `aud` naming the token endpoint (or the
//! issuer), a short `exp` (the CrewPlanner link's checked arithmetic, [`crate::jwt::check_times`]),
//! and a `jti`. Pure: the caller records the `jti` once everything else holds.

use serde_json::{Map, Value};

use crate::jwks::VerifyingKey;
use crate::jwt::{Parts, TimeClaims, check_times, read_time};
use crate::text::{Lines, forbidden_char};

/// The longest assertion accepted, in bytes.
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// The longest `iss`, `sub`, `jti` or `kid` accepted, in characters.
pub const MAX_ID_CHARS: usize = 255;

/// Why an assertion is refused: for the log (never answered: the client learns only that its
/// authentication failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl Refused {
    fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

/// What the claims are compared with.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The client the assertion must be of (`iss` and `sub`).
    pub client_id: &'a str,
    /// The audiences accepted: the token endpoint URL and the issuer (`PUBLIC_URL`).
    pub audiences: [&'a str; 2],
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// Clock skew tolerated, in seconds.
    pub leeway: i64,
    /// The longest an assertion may be valid, in seconds (`exp - iat`, and `exp - now`).
    pub max_lifetime: i64,
}

/// An assertion whose signature and claims hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Its `jti` (single use).
    pub jti: String,
    /// The last second it is accepted (`exp` plus the leeway): its `jti` is remembered until then.
    pub accepted_until: i64,
}

/// Splits an assertion and reads its header.
pub fn split(assertion: &str) -> Result<Parts<'_>, Refused> {
    crate::jwt::split(assertion, MAX_ASSERTION_BYTES, MAX_ID_CHARS).map_err(Refused)
}

/// The unverified `iss` of an assertion: which client's keys to try. Nothing is trusted until the
/// signature verifies with that client's key.
pub fn claimed_issuer(parts: &Parts<'_>) -> Option<String> {
    let claims = crate::jwt::decode_json(parts.payload)?;
    match claims.get("iss") {
        Some(Value::String(s)) if s.len() <= MAX_ID_CHARS * 4 => Some(s.clone()),
        _ => None,
    }
}

/// Checks an assertion against its client's keys and the expectations.
pub fn check(
    parts: &Parts<'_>,
    keys: &[VerifyingKey],
    expected: &Expected<'_>,
) -> Result<Checked, Refused> {
    let candidates = crate::jwks::candidates(keys, &parts.alg, parts.kid.as_deref())
        .map_err(|e| Refused::new(e.to_string()))?;
    if !crate::jwt::verify_signature(parts, &candidates) {
        return Err(Refused::new("the signature does not verify"));
    }
    let claims = crate::jwt::decode_json(parts.payload)
        .ok_or_else(|| Refused::new("the payload is not base64url JSON"))?;
    check_claims(&claims, expected)
}

fn check_claims(claims: &Map<String, Value>, expected: &Expected<'_>) -> Result<Checked, Refused> {
    let text = |name: &str| -> Result<String, Refused> {
        match claims.get(name) {
            Some(Value::String(s))
                if !s.is_empty()
                    && s.chars().count() <= MAX_ID_CHARS
                    && forbidden_char(s, Lines::Single).is_none() =>
            {
                Ok(s.clone())
            }
            _ => Err(Refused::new(format!(
                "the claim {name} is missing or not a short string"
            ))),
        }
    };
    if text("iss")? != expected.client_id || text("sub")? != expected.client_id {
        return Err(Refused::new("iss and sub must both be the client id"));
    }
    let jti = text("jti")?;
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => expected.audiences.contains(&a.as_str()),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .any(|a| expected.audiences.contains(&a)),
        _ => false,
    };
    if !audience_ok {
        return Err(Refused::new("aud does not name this token endpoint"));
    }
    let time =
        |name: &'static str| read_time(claims, name).map_err(|e| Refused::new(e.to_string()));
    let exp = time("exp")?.ok_or_else(|| Refused::new("the claim exp is missing"))?;
    // iat is optional (RFC 7523 §3); without it, the assertion counts as issued now, so its
    // lifetime is what is left of it.
    let iat = time("iat")?.unwrap_or(expected.now.min(exp));
    let nbf = time("nbf")?;
    let accepted_until = check_times(
        &TimeClaims { iat, nbf, exp },
        expected.now,
        expected.leeway,
        expected.max_lifetime,
    )
    .map_err(|e| Refused::new(e.to_string()))?;
    let latest_exp = expected
        .now
        .checked_add(expected.max_lifetime)
        .and_then(|t| t.checked_add(expected.leeway));
    if latest_exp.is_none_or(|latest| exp > latest) {
        return Err(Refused::new(
            "exp is further ahead than an assertion may be valid",
        ));
    }
    Ok(Checked {
        jti,
        accepted_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_790_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            client_id: "c1",
            audiences: [
                "https://scim.example.com/oauth/token",
                "https://scim.example.com",
            ],
            now: NOW,
            leeway: 60,
            max_lifetime: 300,
        }
    }

    fn check(claims: Value) -> Result<Checked, Refused> {
        check_claims(claims.as_object().unwrap(), &expected())
    }

    fn valid() -> Value {
        json!({"iss": "c1", "sub": "c1", "aud": "https://scim.example.com/oauth/token",
               "jti": "j1", "iat": NOW, "exp": NOW + 120})
    }

    #[test]
    fn a_valid_assertion_is_remembered_until_exp_plus_leeway() {
        assert_eq!(check(valid()).unwrap().accepted_until, NOW + 180);
        let mut c = valid();
        c["aud"] = json!(["other", "https://scim.example.com"]);
        c.as_object_mut().unwrap().remove("iat");
        assert!(check(c).is_ok(), "the issuer as audience, no iat");
    }

    #[test]
    fn each_claim_rule_refuses() {
        for (claim, value) in [
            ("iss", json!("c2")),
            ("sub", json!("c2")),
            ("aud", json!("https://elsewhere.example.com/oauth/token")),
            ("aud", json!(7)),
            ("jti", json!(null)),
            ("jti", json!("a\u{0}b")),
            ("exp", json!(NOW - 61)),
            ("exp", json!(NOW + 301)),
            ("exp", json!(u64::MAX)),
            ("iat", json!(NOW + 61)),
            ("nbf", json!(NOW + 61)),
        ] {
            let mut c = valid();
            c[claim] = value.clone();
            assert!(check(c).is_err(), "{claim} = {value}");
        }
        let mut c = valid();
        c.as_object_mut().unwrap().remove("iat");
        c["exp"] = json!(NOW + 400);
        assert!(check(c).is_err(), "no iat, exp too far ahead");
        let mut c = valid();
        c.as_object_mut().unwrap().remove("exp");
        assert!(check(c).is_err(), "exp is required");
    }
}
