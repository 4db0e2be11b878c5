//! The keys CrewPlanner tokens are verified with: the server-wide platform keys, and the mapping
//! of a key refusal ([`crate::jwks::KeyError`]) to a CrewPlanner [`Refusal`]. Reading keys and
//! caching a JWKS document by URL are [`crate::jwks`]'s, shared with OAuth client assertions.

use crate::jwks::KeyError;
pub use crate::jwks::{JwksSource, VerifyingKey, alg_name, from_jwks, from_pem, hs256};

use super::refusal::{Reason, Refusal};

impl From<KeyError> for Refusal {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::UnknownKey => Refusal::new(
                Reason::UnknownKey,
                "no key of this CrewPlanner environment has the token's kid",
            ),
            KeyError::WrongAlgorithm => Refusal::new(
                Reason::WrongAlgorithm,
                "the token's alg is not the algorithm of the key it names (RS256, ES256 or HS256 as configured)",
            ),
            KeyError::Unavailable => Refusal::new(
                Reason::KeysUnavailable,
                "CrewPlanner's signing keys cannot be fetched",
            ),
        }
    }
}

/// The keys a token with this header may be verified with ([`crate::jwks::candidates`]), refused
/// as a CrewPlanner link.
pub fn candidates<'k>(
    keys: &'k [VerifyingKey],
    alg: &str,
    kid: Option<&str>,
) -> Result<Vec<&'k VerifyingKey>, Refusal> {
    Ok(crate::jwks::candidates(keys, alg, kid)?)
}

/// The server-wide CrewPlanner keys: fixed ones (files) and/or a JWKS URL.
#[derive(Debug, Default)]
pub struct PlatformKeys {
    /// Keys read from files at start.
    pub fixed: Vec<VerifyingKey>,
    /// A JWKS document by URL.
    pub jwks: Option<JwksSource>,
}

impl PlatformKeys {
    /// Whether any key is configured.
    pub fn is_configured(&self) -> bool {
        !self.fixed.is_empty() || self.jwks.is_some()
    }

    /// The keys for a token naming `kid`.
    pub async fn keys(&self, kid: Option<&str>) -> Result<Vec<VerifyingKey>, Refusal> {
        let mut keys = self.fixed.clone();
        if let Some(jwks) = &self.jwks {
            let fixed_has_kid =
                kid.is_some_and(|kid| keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
            if !fixed_has_kid {
                keys.extend(jwks.keys(kid).await?.iter().cloned());
            }
        }
        Ok(keys)
    }
}
