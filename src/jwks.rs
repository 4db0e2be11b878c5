//! Keys that verify signed JSON Web Tokens, whoever issued them, and which key a token may use:
//! CrewPlanner's links (DESIGN §7) and OAuth clients' signed assertions (RFC 7523, DESIGN §4a).
//!
//! Every key carries the one algorithm it allows (RSA → RS256, P-256 → ES256, a shared secret →
//! HS256), so a token can never choose its own: `alg: none`, or HS256 "signed" with a public key,
//! finds no key. Keys come from a JWKS document (by URL, cached and re-fetched on rotation by
//! [`JwksSource`]; or from a file), a PEM file or an HS256 secret. Each caller maps [`KeyError`] to
//! its own refusal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Why no key verifies a token. Names a class, never a key or a claim's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No key has the token's `kid` (and no key without an id stands in).
    #[error("no key has the token's kid")]
    UnknownKey,
    /// The token's `alg` is not the algorithm of the key it names.
    #[error("the token's alg is not the algorithm of the key it names")]
    WrongAlgorithm,
    /// The keys cannot be fetched, and no earlier copy is cached.
    #[error("the signing keys cannot be fetched")]
    Unavailable,
}

/// The largest key document accepted (JWKS by URL or file, PEM).
pub const MAX_KEY_DOCUMENT_BYTES: usize = 256 * 1024;
/// The shortest HS256 secret accepted.
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// A key a token may be verified with.
#[derive(Clone)]
pub struct VerifyingKey {
    /// Its id, if the source names one.
    pub kid: Option<String>,
    /// The only algorithm it verifies.
    pub alg: Algorithm,
    /// The key.
    pub key: DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyingKey({:?}, {:?})", self.kid, self.alg)
    }
}

/// The public keys of a JWKS document: RSA keys for RS256 and P-256 keys for ES256. Keys for
/// encryption, other algorithms and symmetric keys are skipped; a document with no usable key is
/// an error.
pub fn from_jwks(document: &str) -> anyhow::Result<Vec<VerifyingKey>> {
    if document.len() > MAX_KEY_DOCUMENT_BYTES {
        bail!("the JWKS document is larger than {MAX_KEY_DOCUMENT_BYTES} bytes");
    }
    let set: JwkSet = serde_json::from_str(document).context("not a JWKS document")?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => continue,
        };
        let declared = jwk.common.key_algorithm;
        let agrees = match declared {
            None => true,
            Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
            Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
            Some(_) => false,
        };
        if !agrees {
            continue;
        }
        let key = DecodingKey::from_jwk(jwk).context("a JWK cannot be read")?;
        keys.push(VerifyingKey {
            kid: jwk.common.key_id.clone(),
            alg,
            key,
        });
    }
    if keys.is_empty() {
        bail!("the JWKS document has no RS256 (RSA) or ES256 (P-256) signing key");
    }
    Ok(keys)
}

/// A public key in PEM (RSA → RS256, P-256 → ES256), with an optional key id.
pub fn from_pem(pem: &str, kid: Option<&str>) -> anyhow::Result<VerifyingKey> {
    if pem.len() > MAX_KEY_DOCUMENT_BYTES {
        bail!("the PEM file is larger than {MAX_KEY_DOCUMENT_BYTES} bytes");
    }
    if pem.contains("PRIVATE KEY") {
        bail!("this is a private key: give MobieTrain the public key only");
    }
    let (alg, key) = match DecodingKey::from_rsa_pem(pem.as_bytes()) {
        Ok(key) => (Algorithm::RS256, key),
        Err(_) => (
            Algorithm::ES256,
            DecodingKey::from_ec_pem(pem.as_bytes())
                .context("not an RSA or P-256 public key in PEM")?,
        ),
    };
    Ok(VerifyingKey {
        kid: kid.map(str::to_owned),
        alg,
        key,
    })
}

/// An HS256 shared secret (an account's own, at least 32 bytes).
pub fn hs256(secret: &[u8]) -> anyhow::Result<VerifyingKey> {
    if secret.len() < MIN_HS256_SECRET_BYTES {
        bail!("an HS256 secret must be at least {MIN_HS256_SECRET_BYTES} bytes");
    }
    Ok(VerifyingKey {
        kid: None,
        alg: Algorithm::HS256,
        key: DecodingKey::from_secret(secret),
    })
}

/// The keys a token with this header may be verified with: those of its `kid` (keys without an id
/// stand in when none has it), then only those allowing its `alg`. Tried in order.
pub fn candidates<'k>(
    keys: &'k [VerifyingKey],
    alg: &str,
    kid: Option<&str>,
) -> Result<Vec<&'k VerifyingKey>, KeyError> {
    let by_kid: Vec<&VerifyingKey> = match kid {
        Some(kid) => {
            let named: Vec<_> = keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect();
            if named.is_empty() {
                keys.iter().filter(|k| k.kid.is_none()).collect()
            } else {
                named
            }
        }
        None => keys.iter().collect(),
    };
    if by_kid.is_empty() {
        return Err(KeyError::UnknownKey);
    }
    let allowed: Vec<&VerifyingKey> = by_kid
        .into_iter()
        .filter(|k| alg_name(k.alg) == alg)
        .collect();
    if allowed.is_empty() {
        return Err(KeyError::WrongAlgorithm);
    }
    Ok(allowed)
}

/// The JOSE name of an algorithm.
pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        Algorithm::HS256 => "HS256",
        _ => "unsupported",
    }
}

/// A JWKS document fetched by URL, cached. It is fetched again when its `Cache-Control: max-age`
/// (bounded to 1 minute … 1 day; 10 minutes by default) has passed, or when a token names a `kid`
/// the cached copy lacks (a rotation), at most once per `min_refetch`, so unknown kids cannot make
/// the server hammer the key's owner. When a fetch fails the last good copy stays in use.
#[derive(Debug)]
pub struct JwksSource {
    url: String,
    client: reqwest::Client,
    min_refetch: Duration,
    cache: tokio::sync::Mutex<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    keys: Arc<Vec<VerifyingKey>>,
    fetched_at: Option<Instant>,
    max_age: Duration,
}

const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);

/// Checks a JWKS URL: https, or http to a loopback address (a sidecar, tests).
pub fn check_url(url: &str) -> anyhow::Result<()> {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    if !url.starts_with("https://") && !loopback {
        bail!("a JWKS URL must be https:// (http only to a loopback address)");
    }
    if url.len() > 2048 || url.chars().any(|c| c.is_control() || c == ' ') {
        bail!("a JWKS URL is at most 2048 characters, without spaces");
    }
    Ok(())
}

impl JwksSource {
    /// A source for `url`: https, or http to a loopback address (a sidecar, tests).
    pub fn new(url: &str, min_refetch: Duration) -> anyhow::Result<Self> {
        check_url(url)?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            url: url.to_owned(),
            client,
            min_refetch,
            cache: tokio::sync::Mutex::new(Cached::default()),
        })
    }

    /// The keys, fetched or refreshed as needed for a token naming `kid`.
    pub async fn keys(&self, kid: Option<&str>) -> Result<Arc<Vec<VerifyingKey>>, KeyError> {
        let mut cache = self.cache.lock().await;
        let age = cache.fetched_at.map(|at| at.elapsed());
        let fresh = age.is_some_and(|a| a < cache.max_age);
        let has_kid =
            kid.is_none_or(|kid| cache.keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
        let may_refetch = age.is_none_or(|a| a >= self.min_refetch);
        if (fresh && has_kid) || !may_refetch {
            return Ok(cache.keys.clone());
        }
        match self.fetch().await {
            Ok((keys, max_age)) => {
                *cache = Cached {
                    keys: Arc::new(keys),
                    fetched_at: Some(Instant::now()),
                    max_age,
                };
                Ok(cache.keys.clone())
            }
            Err(e) => {
                tracing::warn!(url = %self.url, error = %e, "cannot fetch a JWKS document; using the last good copy if any");
                if cache.keys.is_empty() {
                    Err(KeyError::Unavailable)
                } else {
                    // Count the failed attempt, so a down JWKS endpoint is not asked on every request.
                    cache.fetched_at = Some(Instant::now());
                    Ok(cache.keys.clone())
                }
            }
        }
    }

    async fn fetch(&self) -> anyhow::Result<(Vec<VerifyingKey>, Duration)> {
        let mut response = self
            .client
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .map(|s| Duration::from_secs(s.clamp(60, 86_400)))
            .unwrap_or(DEFAULT_MAX_AGE);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_KEY_DOCUMENT_BYTES {
                bail!("the JWKS document is larger than {MAX_KEY_DOCUMENT_BYTES} bytes");
            }
        }
        let keys = from_jwks(std::str::from_utf8(&body)?)?;
        Ok((keys, max_age))
    }
}

fn max_age(cache_control: &str) -> Option<u64> {
    cache_control
        .split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(max_age("public, max-age=300"), Some(300));
        assert_eq!(max_age("no-cache"), None);
    }

    #[test]
    fn an_hs256_secret_must_be_long_and_a_private_pem_is_refused() {
        assert!(hs256(&[1; 31]).is_err());
        assert_eq!(hs256(&[1; 32]).unwrap().alg, Algorithm::HS256);
        let err = from_pem("-----BEGIN PRIVATE KEY-----\n", None).unwrap_err();
        assert!(err.to_string().contains("public key only"));
    }

    #[test]
    fn a_token_cannot_pick_an_algorithm_its_key_does_not_allow() {
        let keys = vec![
            VerifyingKey {
                kid: Some("a".into()),
                alg: Algorithm::RS256,
                key: DecodingKey::from_secret(b"x"),
            },
            VerifyingKey {
                kid: None,
                alg: Algorithm::ES256,
                key: DecodingKey::from_secret(b"y"),
            },
        ];
        assert_eq!(candidates(&keys, "RS256", Some("a")).unwrap().len(), 1);
        for alg in ["none", "HS256", "ES256", "rs256"] {
            let refusal = candidates(&keys, alg, Some("a")).unwrap_err();
            assert_eq!(refusal, KeyError::WrongAlgorithm, "{alg}");
        }
        // An unknown kid falls back to keys without an id only.
        assert_eq!(
            candidates(&keys, "ES256", Some("zz")).unwrap()[0].alg,
            Algorithm::ES256
        );
        assert_eq!(
            candidates(&keys[..1], "RS256", Some("zz")).unwrap_err(),
            KeyError::UnknownKey
        );
    }
}
