//! Reading and checking a CrewPlanner token (DESIGN 7), in the order that costs an attacker most
//! and us least: size, shape, key and algorithm, signature, then the claims. Nothing here touches
//! the database; the caller records the `jti` once everything else holds.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::keys::VerifyingKey;
use super::refusal::{Reason, Refusal};

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The longest `sub` or `jti` accepted, in characters.
pub const MAX_ID_CHARS: usize = 255;

/// A token split into its parts, its header read.
#[derive(Debug)]
pub struct Parts<'t> {
    /// The signed part: `header.payload`.
    pub signed: &'t str,
    /// The payload, base64url.
    pub payload: &'t str,
    /// The signature, base64url.
    pub signature: &'t str,
    /// The header's `alg`.
    pub alg: String,
    /// The header's `kid`.
    pub kid: Option<String>,
}

/// Splits a compact JWS and reads its header.
pub fn split(token: &str) -> Result<Parts<'_>, Refusal> {
    let malformed = |what: &str| Refusal::new(Reason::Malformed, what.to_owned());
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed("the token is longer than 8 KiB"));
    }
    let mut it = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(malformed("a token has three dot-separated parts"));
    };
    let header: Map<String, Value> =
        decode_json(header).ok_or_else(|| malformed("the token's header is not base64url JSON"))?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("the token's header has no alg"))?
        .to_owned();
    if header.get("crit").is_some() {
        return Err(malformed(
            "the token's header has critical extensions (crit)",
        ));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) if k.len() <= MAX_ID_CHARS => Some(k.clone()),
        Some(_) => return Err(malformed("the token's kid is not a short string")),
    };
    let (signed, _) = token
        .rsplit_once('.')
        .expect("a token of three parts has dots");
    Ok(Parts {
        signed,
        payload,
        signature,
        alg,
        kid,
    })
}

fn decode_json(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Verifies the signature with the first of `keys` that accepts it.
pub fn verify_signature(parts: &Parts<'_>, keys: &[&VerifyingKey]) -> Result<(), Refusal> {
    for key in keys {
        match jsonwebtoken::crypto::verify(
            parts.signature,
            parts.signed.as_bytes(),
            &key.key,
            key.alg,
        ) {
            Ok(true) => return Ok(()),
            Ok(false) | Err(_) => continue,
        }
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
/// issuer, audience, time (with leeway) and lifetime.
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
                Ok(s.clone())
            }
            _ => Err(missing(name)),
        }
    };
    let number = |name: &'static str| -> Result<Option<i64>, Refusal> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| missing(name)),
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
    let iat = number("iat")?.ok_or_else(|| missing("iat"))?;
    let exp = number("exp")?.ok_or_else(|| missing("exp"))?;
    let nbf = number("nbf")?;

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
    if exp + expected.leeway < expected.now {
        return Err(Refusal::new(Reason::Expired, "exp is in the past"));
    }
    if nbf.is_some_and(|nbf| nbf - expected.leeway > expected.now) {
        return Err(Refusal::new(Reason::NotYetValid, "nbf is in the future"));
    }
    if iat - expected.leeway > expected.now {
        return Err(Refusal::new(Reason::NotYetValid, "iat is in the future"));
    }
    if exp - iat > expected.max_lifetime {
        return Err(Refusal::new(
            Reason::LifetimeTooLong,
            format!("exp - iat is longer than {} seconds", expected.max_lifetime),
        ));
    }
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
        given_name: optional("given_name")?,
        family_name: optional("family_name")?,
        email: optional("email")?,
        phone_number: optional("phone_number")?,
        locale: optional("locale")?,
        job_title: optional("job_title")?,
        department: optional("department")?,
    })
}
