//! Checks every JSON Web Token the server reads shares, whoever issued it: splitting a compact JWS
//! and reading its header ([`split`]), verifying its signature with pinned keys
//! ([`verify_signature`]), and the registered time claims `iat`, `nbf` and `exp` (RFC 7519
//! §4.1.4–4.1.6). Used by the CrewPlanner link and OAuth client assertions (RFC 7523), so each
//! caller maps a refusal to its own.
//!
//! The claims come from a client, so no arithmetic on them may overflow: every time is first bounded
//! to a real calendar range, and every sum or difference is checked. A time outside that range is
//! refused rather than clamped, since a clamped `exp` would let a single-use token id be forgotten
//! early (a replay) or a lifetime cap be passed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::jwks::VerifyingKey;

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

/// Splits a compact JWS of at most `max_bytes` and reads its header; a `kid` is at most
/// `max_kid_chars` long. `Err` says what is wrong with its shape.
pub fn split(token: &str, max_bytes: usize, max_kid_chars: usize) -> Result<Parts<'_>, String> {
    if token.len() > max_bytes {
        return Err(format!("the token is longer than {} KiB", max_bytes / 1024));
    }
    let mut it = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err("a token has three dot-separated parts".to_owned());
    };
    let header: Map<String, Value> =
        decode_json(header).ok_or_else(|| "the token's header is not base64url JSON".to_owned())?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| "the token's header has no alg".to_owned())?
        .to_owned();
    if header.get("crit").is_some() {
        return Err("the token's header has critical extensions (crit)".to_owned());
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) if k.len() <= max_kid_chars => Some(k.clone()),
        Some(_) => return Err("the token's kid is not a short string".to_owned()),
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

/// A base64url part of a token read as a JSON object, if it is one.
pub fn decode_json(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Whether the signature verifies with one of `keys`, each with its own pinned algorithm.
pub fn verify_signature(parts: &Parts<'_>, keys: &[&VerifyingKey]) -> bool {
    keys.iter().any(|key| {
        jsonwebtoken::crypto::verify(parts.signature, parts.signed.as_bytes(), &key.key, key.alg)
            .unwrap_or(false)
    })
}

/// The earliest time a claim may name: 1970-01-01T00:00:00Z (a NumericDate is never negative for a
/// token issued by a working clock).
pub const EARLIEST: i64 = 0;
/// The latest time a claim may name: 9999-12-31T23:59:59Z, the end of what a database timestamp
/// and a calendar date can hold.
pub const LATEST: i64 = 253_402_300_799;

/// The registered time claims of a token, in seconds since the epoch, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeClaims {
    /// `iat`: when the token was issued.
    pub iat: i64,
    /// `nbf`: before when it is not valid, if it says.
    pub nbf: Option<i64>,
    /// `exp`: when it expires.
    pub exp: i64,
}

/// Why a token's time claims are refused. Names a claim or a limit, never a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The claim is present but not a number.
    #[error("the claim {0} is not a number of seconds since 1970")]
    NotANumber(&'static str),
    /// The claim is a number, but no time between 1970 and 9999.
    #[error("the claim {0} is not a time between 1970 and 9999")]
    OutOfRange(&'static str),
    /// `exp` is earlier than `iat`: the token expired before it was issued.
    #[error("exp is before iat")]
    ExpiresBeforeIssued,
    /// `nbf` is later than `exp`: the token is never valid.
    #[error("nbf is after exp")]
    NeverValid,
    /// `exp` is past, beyond the leeway.
    #[error("exp is in the past")]
    Expired,
    /// `iat` or `nbf` (named) is in the future, beyond the leeway.
    #[error("{0} is in the future")]
    NotYetValid(&'static str),
    /// `exp - iat` is longer than the caller allows (the limit, in seconds).
    #[error("exp - iat is longer than {0} seconds")]
    LifetimeTooLong(i64),
}

/// Reads the time claim `name` of a token's payload: `None` when absent. A NumericDate may carry a
/// fraction (RFC 7519 §2); it is cut to whole seconds once known to be in range. A number JSON
/// holds but no `i64` does (`1e30`, `18446744073709551615`) is out of range, never saturated.
pub fn read_time(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, TimeError> {
    let number = match claims.get(name) {
        None => return Ok(None),
        Some(Value::Number(n)) => n,
        Some(_) => return Err(TimeError::NotANumber(name)),
    };
    if let Some(seconds) = number.as_i64() {
        return in_range(name, seconds).map(Some);
    }
    match number.as_f64() {
        // The range test on the float comes first, so the cast below never saturates.
        Some(f) if f.is_finite() && (EARLIEST as f64..=LATEST as f64).contains(&f) => {
            Ok(Some(f.trunc() as i64))
        }
        _ => Err(TimeError::OutOfRange(name)),
    }
}

fn in_range(name: &'static str, seconds: i64) -> Result<i64, TimeError> {
    if (EARLIEST..=LATEST).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(TimeError::OutOfRange(name))
    }
}

/// Checks a token's time claims at `now` with `leeway` seconds of clock skew and a longest
/// lifetime (`exp - iat`) of `max_lifetime` seconds: each time in range, `iat ≤ exp`, `nbf ≤ exp`,
/// not expired, not issued or valid only in the future, and not valid for too long — whatever the
/// magnitudes, as every step is checked arithmetic.
///
/// Returns the last second at which the token is accepted (`exp + leeway`): a single-use token's id
/// must be remembered at least until then.
pub fn check_times(
    times: &TimeClaims,
    now: i64,
    leeway: i64,
    max_lifetime: i64,
) -> Result<i64, TimeError> {
    let iat = in_range("iat", times.iat)?;
    let exp = in_range("exp", times.exp)?;
    let nbf = times.nbf.map(|nbf| in_range("nbf", nbf)).transpose()?;
    if exp < iat {
        return Err(TimeError::ExpiresBeforeIssued);
    }
    if nbf.is_some_and(|nbf| nbf > exp) {
        return Err(TimeError::NeverValid);
    }
    // With both times in range none of these can overflow; were the bounds ever widened, an
    // overflow still refuses instead of wrapping into a pass.
    let accepted_until = exp
        .checked_add(leeway)
        .ok_or(TimeError::OutOfRange("exp"))?;
    if accepted_until < now {
        return Err(TimeError::Expired);
    }
    let future = |claim: &'static str, at: i64| match at.checked_sub(leeway) {
        Some(earliest) if earliest <= now => Ok(()),
        _ => Err(TimeError::NotYetValid(claim)),
    };
    if let Some(nbf) = nbf {
        future("nbf", nbf)?;
    }
    future("iat", iat)?;
    match exp.checked_sub(iat) {
        Some(lifetime) if lifetime <= max_lifetime => Ok(accepted_until),
        _ => Err(TimeError::LifetimeTooLong(max_lifetime)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const NOW: i64 = 1_790_000_000;

    fn times(iat: i64, nbf: Option<i64>, exp: i64) -> TimeClaims {
        TimeClaims { iat, nbf, exp }
    }

    #[test]
    fn a_fresh_token_is_accepted_until_exp_plus_leeway() {
        assert_eq!(
            check_times(&times(NOW, None, NOW + 120), NOW, 60, 300),
            Ok(NOW + 180)
        );
        assert_eq!(
            check_times(&times(NOW - 300, Some(NOW - 300), NOW), NOW + 60, 60, 300),
            Ok(NOW + 60),
            "the leeway's last second still counts"
        );
    }

    #[test]
    fn each_time_rule_has_its_refusal() {
        let check = |t: TimeClaims| check_times(&t, NOW, 60, 300);
        assert_eq!(
            check(times(NOW - 400, None, NOW - 61)),
            Err(TimeError::Expired)
        );
        assert_eq!(
            check(times(NOW, Some(NOW + 61), NOW + 120)),
            Err(TimeError::NotYetValid("nbf"))
        );
        assert_eq!(
            check(times(NOW + 61, None, NOW + 120)),
            Err(TimeError::NotYetValid("iat"))
        );
        assert_eq!(
            check(times(NOW, None, NOW + 301)),
            Err(TimeError::LifetimeTooLong(300))
        );
        assert_eq!(
            check(times(NOW, None, NOW - 1)),
            Err(TimeError::ExpiresBeforeIssued)
        );
        assert_eq!(
            check(times(NOW, Some(NOW + 10), NOW + 5)),
            Err(TimeError::NeverValid)
        );
    }

    #[test]
    fn the_reported_overflow_and_a_ten_year_token_are_refused() {
        // The hardening issue's token: iat near i64::MIN, exp beyond i64::MAX (saturated once).
        let check = |t: TimeClaims| check_times(&t, NOW, 60, 300);
        assert_eq!(
            check(times(-9_223_372_036_854_775_708, None, i64::MAX)),
            Err(TimeError::OutOfRange("iat"))
        );
        assert_eq!(
            check(times(NOW, None, NOW + 10 * 365 * 86_400)),
            Err(TimeError::LifetimeTooLong(300))
        );
        assert_eq!(
            check(times(i64::MIN, Some(i64::MIN), i64::MAX)),
            Err(TimeError::OutOfRange("iat"))
        );
        assert_eq!(
            check_times(&times(NOW, None, NOW + 1), NOW, i64::MAX, 300),
            Err(TimeError::OutOfRange("exp")),
            "a leeway that overflows refuses"
        );
    }

    #[test]
    fn times_are_read_as_whole_seconds_in_range_or_refused() {
        let claims = |v: Value| json!({ "exp": v }).as_object().unwrap().clone();
        assert_eq!(read_time(&claims(json!(NOW)), "exp"), Ok(Some(NOW)));
        assert_eq!(
            read_time(&claims(json!(1.9e9 + 0.75)), "exp"),
            Ok(Some(1_900_000_000))
        );
        assert_eq!(read_time(&Map::new(), "exp"), Ok(None));
        for huge in [
            json!(9_223_372_036_854_775_747_u64),
            json!(u64::MAX),
            json!(1e300),
            json!(-1),
            json!(-0.5),
            json!(LATEST + 1),
            json!(i64::MIN),
        ] {
            assert_eq!(
                read_time(&claims(huge.clone()), "exp"),
                Err(TimeError::OutOfRange("exp")),
                "{huge}"
            );
        }
        for wrong in [json!("1790000000"), json!(null), json!([NOW]), json!({})] {
            assert_eq!(
                read_time(&claims(wrong), "exp"),
                Err(TimeError::NotANumber("exp"))
            );
        }
    }

    proptest! {
        /// Whatever the magnitudes, a lifetime over the cap never passes, nothing panics, and what
        /// passes is remembered until exactly `exp + leeway`, never earlier than now.
        #[test]
        fn no_magnitude_passes_the_lifetime_cap(
            iat in prop_oneof![any::<i64>(), (NOW - 1000)..(NOW + 1000)],
            exp in prop_oneof![any::<i64>(), (NOW - 1000)..(NOW + 1000)],
            nbf in proptest::option::of(prop_oneof![any::<i64>(), (NOW - 1000)..(NOW + 1000)]),
            leeway in prop_oneof![0i64..120, any::<i64>()],
        ) {
            let result = check_times(&times(iat, nbf, exp), NOW, leeway, 300);
            if let Ok(until) = result {
                prop_assert!(i128::from(exp) - i128::from(iat) <= 300);
                prop_assert!((0..=300).contains(&(exp - iat)));
                prop_assert_eq!(i128::from(until), i128::from(exp) + i128::from(leeway));
                prop_assert!(until >= NOW);
            }
            if i128::from(exp) - i128::from(iat) > 300 {
                prop_assert!(result.is_err());
            }
        }
    }
}
