//! Reading and checking a CrewPlanner token (DESIGN 7), in the order that costs an attacker most
//! and us least: size, shape, key and algorithm, signature, then the claims. Nothing here touches
//! the database; the caller records the `jti` once everything else holds.

use serde_json::{Map, Value};

use super::keys::VerifyingKey;
use super::refusal::{Reason, Refusal};
use crate::jwt::{TimeClaims, TimeError, check_times, read_time};
use crate::text::{Lines, forbidden_char};

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The longest `sub` or `jti` accepted, in characters.
pub const MAX_ID_CHARS: usize = 255;

pub use crate::jwt::Parts;

/// Splits a compact JWS and reads its header ([`crate::jwt::split`]), refused as malformed.
pub fn split(token: &str) -> Result<Parts<'_>, Refusal> {
    crate::jwt::split(token, MAX_TOKEN_BYTES, MAX_ID_CHARS)
        .map_err(|what| Refusal::new(Reason::Malformed, what))
}

fn decode_json(part: &str) -> Option<Map<String, Value>> {
    crate::jwt::decode_json(part)
}

/// Verifies the signature with the first of `keys` that accepts it.
pub fn verify_signature(parts: &Parts<'_>, keys: &[&VerifyingKey]) -> Result<(), Refusal> {
    if crate::jwt::verify_signature(parts, keys) {
        return Ok(());
    }
    Err(Refusal::new(
        Reason::BadSignature,
        "the signature does not verify with the key the token names",
    ))
}

/// What the checks compare the claims with.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The account's issuer (`https://{slug}.crewplanner.com`).
    pub issuer: &'a str,
    /// The account id.
    pub audience: &'a str,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// Clock skew tolerated, in seconds.
    pub leeway: i64,
    /// The longest `exp - iat` accepted, in seconds.
    pub max_lifetime: i64,
}

/// The claims of a verified token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    /// The employee id (becomes `externalId`).
    pub sub: String,
    /// The token id (single use).
    pub jti: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// The last second the token is accepted (`exp` plus the leeway), as the checks computed it:
    /// its `jti` is remembered until then.
    pub accepted_until: i64,
    /// `given_name`.
    pub given_name: Option<String>,
    /// `family_name`.
    pub family_name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `phone_number`.
    pub phone_number: Option<String>,
    /// `locale`.
    pub locale: Option<String>,
    /// `job_title`.
    pub job_title: Option<String>,
    /// `department`.
    pub department: Option<String>,
}

/// Reads the (signature-verified) payload and checks every claim: presence and type first, then
/// issuer, audience, and the times ([`check_times`]).
pub fn check_claims(parts: &Parts<'_>, expected: &Expected<'_>) -> Result<Claims, Refusal> {
    let claims = decode_json(parts.payload).ok_or_else(|| {
        Refusal::new(
            Reason::Malformed,
            "the token's payload is not base64url JSON",
        )
    })?;
    let missing = |name: &str| {
        Refusal::new(
            Reason::MissingClaim,
            format!("the claim {name} is missing or not of the right type"),
        )
    };
    let text = |name: &'static str| -> Result<String, Refusal> {
        match claims.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= MAX_ID_CHARS => {
                // `sub` becomes an externalId and `jti` a stored key: single-line text, and never
                // a NUL, which PostgreSQL cannot store (nor look up).
                match forbidden_char(s, Lines::Single) {
                    Some(_) => Err(Refusal::new(
                        Reason::InvalidClaim,
                        format!("the claim {name} contains a control character"),
                    )),
                    None => Ok(s.clone()),
                }
            }
            _ => Err(missing(name)),
        }
    };
    let iss = text("iss")?;
    let sub = text("sub")?;
    let jti = text("jti")?;
    let aud: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| missing("aud"))?,
        _ => return Err(missing("aud")),
    };
    let time = |name: &'static str| read_time(&claims, name).map_err(time_refusal);
    let iat = time("iat")?.ok_or_else(|| missing("iat"))?;
    let exp = time("exp")?.ok_or_else(|| missing("exp"))?;
    let nbf = time("nbf")?;

    if iss != expected.issuer {
        return Err(Refusal::new(
            Reason::WrongIssuer,
            "iss is not this account's CrewPlanner environment",
        ));
    }
    if !aud.iter().any(|a| a == expected.audience) {
        return Err(Refusal::new(
            Reason::WrongAudience,
            "aud does not name this MobieTrain account",
        ));
    }
    let accepted_until = check_times(
        &TimeClaims { iat, nbf, exp },
        expected.now,
        expected.leeway,
        expected.max_lifetime,
    )
    .map_err(time_refusal)?;
    let optional = |name: &str| -> Result<Option<String>, Refusal> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(Refusal::new(
                Reason::InvalidClaim,
                format!("the claim {name} is not a string"),
            )),
        }
    };
    Ok(Claims {
        sub,
        jti,
        exp,
        accepted_until,
        given_name: optional("given_name")?,
        family_name: optional("family_name")?,
        email: optional("email")?,
        phone_number: optional("phone_number")?,
        locale: optional("locale")?,
        job_title: optional("job_title")?,
        department: optional("department")?,
    })
}

/// The refusal class of a time claim the checks refuse: the registered classes where one fits, and
/// [`Reason::InvalidTime`] for times that cannot be right.
fn time_refusal(e: TimeError) -> Refusal {
    let reason = match e {
        TimeError::NotANumber(_) => Reason::MissingClaim,
        TimeError::OutOfRange(_) | TimeError::ExpiresBeforeIssued | TimeError::NeverValid => {
            Reason::InvalidTime
        }
        TimeError::Expired => Reason::Expired,
        TimeError::NotYetValid(_) => Reason::NotYetValid,
        TimeError::LifetimeTooLong(_) => Reason::LifetimeTooLong,
    };
    Refusal::new(reason, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;
    use serde_json::json;

    const NOW: i64 = 1_790_000_000;

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://acme.crewplanner.com",
            audience: "acc-1",
            now: NOW,
            leeway: 60,
            max_lifetime: 300,
        }
    }

    /// A token (unsigned: these tests stop before the signature) whose payload is `claims`.
    fn token(claims: &Value) -> String {
        format!(
            "{}.{}.{}",
            b64(json!({"alg": "RS256", "kid": "a"}).to_string()),
            b64(claims.to_string()),
            b64("sig")
        )
    }

    fn valid() -> Value {
        json!({"iss": "https://acme.crewplanner.com", "aud": "acc-1", "sub": "emp-1",
               "jti": "j-1", "iat": NOW, "exp": NOW + 120})
    }

    fn check(claims: &Value) -> Result<Claims, Refusal> {
        let t = token(claims);
        check_claims(&split(&t).unwrap(), &expected())
    }

    fn reason(claims: &Value) -> Reason {
        check(claims).unwrap_err().reason
    }

    #[test]
    fn a_valid_payload_is_accepted_until_exp_plus_leeway() {
        let claims = check(&valid()).unwrap();
        assert_eq!(claims.exp, NOW + 120);
        assert_eq!(claims.accepted_until, NOW + 180);
    }

    #[test]
    fn the_reported_overflowing_times_are_refused() {
        // The hardening issue's token, as JSON numbers: iat near i64::MIN, exp beyond i64::MAX.
        let payload = valid()
            .to_string()
            .replace(&format!("\"iat\":{NOW}"), "\"iat\":-9223372036854775708");
        let payload = payload.replace(
            &format!("\"exp\":{}", NOW + 120),
            "\"exp\":9223372036854775747",
        );
        let claims: Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(reason(&claims), Reason::InvalidTime);

        let mut c = valid();
        c["exp"] = json!(NOW + 10 * 365 * 86_400);
        assert_eq!(reason(&c), Reason::LifetimeTooLong, "a 10-year token");
        c["iat"] = json!(-9_223_372_036_854_775_708_i64);
        assert_eq!(reason(&c), Reason::InvalidTime);
        for (claim, value) in [
            ("exp", json!(1e300)),
            ("exp", json!(u64::MAX)),
            ("nbf", json!(-1)),
            ("iat", json!(i64::MIN)),
        ] {
            let mut c = valid();
            c[claim] = value.clone();
            assert_eq!(reason(&c), Reason::InvalidTime, "{claim} = {value}");
        }
        let mut c = valid();
        c["exp"] = json!(NOW - 10);
        assert_eq!(reason(&c), Reason::InvalidTime, "exp before iat");
        c["exp"] = json!("soon");
        assert_eq!(reason(&c), Reason::MissingClaim);
    }

    #[test]
    fn ids_with_control_characters_are_refused() {
        for claim in ["sub", "jti", "iss"] {
            for bad in ["emp\u{0}1", "emp\r\n1", "emp\t1"] {
                let mut c = valid();
                c[claim] = json!(bad);
                let refusal = check(&c).unwrap_err();
                assert_eq!(refusal.reason, Reason::InvalidClaim, "{claim} = {bad:?}");
                assert!(refusal.detail.contains(claim), "{}", refusal.detail);
            }
        }
    }

    #[test]
    fn deep_nesting_and_garbage_in_the_payload_are_refusals() {
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let deep_object = format!("{}1{}", "{\"a\":".repeat(3000), "}".repeat(3000));
        for payload in [
            deep.as_str(),
            deep_object.as_str(),
            "1e999999",
            "{\"iat\": 1e999999}",
            "null",
            "",
            "\u{0}",
        ] {
            let t = format!("{}.{}.{}", b64("{\"alg\":\"RS256\"}"), b64(payload), "x");
            if let Ok(parts) = split(&t) {
                assert!(check_claims(&parts, &expected()).is_err(), "{payload:.40}");
            }
        }
        let deep_header = format!("{}.{}.x", b64(&deep), b64("{}"));
        assert_eq!(split(&deep_header).unwrap_err().reason, Reason::Malformed);
    }

    fn garbage_token() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            "[A-Za-z0-9_=+/-]{0,64}",
            any::<Vec<u8>>().prop_map(b64),
            "[{}\\[\\]\":,0-9a-z.-]{0,64}".prop_map(b64),
            (0usize..2000).prop_map(|n| b64(format!("{}{}", "[".repeat(n), "]".repeat(n)))),
            any::<i128>()
                .prop_map(|n| b64(format!("{{\"alg\":\"RS256\",\"iat\":{n},\"exp\":{n}e30}}"))),
        ];
        prop_oneof![
            any::<String>(),
            "[.A-Za-z0-9_=-]{0,300}",
            prop::collection::vec(part, 0..6).prop_map(|parts| parts.join(".")),
            (1usize..9000).prop_map(|n| "A".repeat(n)),
        ]
    }

    proptest! {
        /// Whatever arrives where a token should be, splitting and reading it answers a refusal or
        /// well-formed parts, and never panics.
        #[test]
        fn garbage_never_panics_and_is_refused(t in garbage_token()) {
            if let Ok(parts) = split(&t) {
                prop_assert!(t.len() <= MAX_TOKEN_BYTES);
                prop_assert_eq!(t.matches('.').count(), 2);
                // Past the signature (which garbage never passes), the claims are still refused.
                prop_assert!(check_claims(&parts, &expected()).is_err());
            }
        }

        /// Random claim values of any JSON type and magnitude in a well-formed token: a refusal or
        /// claims whose times hold, never a panic.
        #[test]
        fn random_claim_values_never_panic(
            iat in prop_oneof![any::<i64>().prop_map(|n| json!(n)), any::<f64>().prop_map(|f| json!(f)), any::<u64>().prop_map(|n| json!(n)), Just(json!(NOW)), Just(json!(null))],
            exp in prop_oneof![any::<i64>().prop_map(|n| json!(n)), any::<f64>().prop_map(|f| json!(f)), (NOW - 100..NOW + 400).prop_map(|n| json!(n)), Just(json!("x"))],
            nbf in prop::option::of(prop_oneof![any::<i64>().prop_map(|n| json!(n)), (NOW - 100..NOW + 100).prop_map(|n| json!(n))]),
            sub in prop_oneof![any::<String>().prop_map(|s| json!(s)), Just(json!(1)), Just(json!(["a"]))],
        ) {
            let mut c = valid();
            c["iat"] = iat;
            c["exp"] = exp;
            if let Some(nbf) = nbf {
                c["nbf"] = nbf;
            }
            c["sub"] = sub;
            if let Ok(claims) = check(&c) {
                prop_assert!(claims.accepted_until >= NOW);
                prop_assert!(claims.accepted_until <= NOW + 60 + 300 + 60);
                prop_assert!(!claims.sub.chars().any(char::is_control));
            }
        }
    }
}
