//! The server's secrets: random bearer secrets and their stored digests, and the server key.
//!
//! Bearer secrets (API tokens, session tokens, one-time codes) are 32 random bytes shown once; only
//! their SHA-256 is stored, so a lookup is one indexed query and a database leak opens nothing.
//!
//! The server key (32 bytes, `SERVER_KEY` or a key file) never reaches the database; only its
//! fingerprint does, so that an instance with another key refuses to start. Keys are derived from
//! it with HMAC-SHA-256 under fixed labels: one encrypts secrets the server must be able to use
//! again (an account's CrewPlanner HS256 secret) with AES-256-GCM, bound to where the value is
//! stored; another makes keyed digests (an invitation link token is such a digest of the
//! invitation's id and nonce, so no table or job holds a usable link); a third is the fingerprint.

use std::fmt;
use std::path::Path;

use anyhow::{Context, bail};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// How long the server key is, in bytes.
pub const SERVER_KEY_LEN: usize = 32;
/// What a sealed value starts with (the format's version).
const SEALED_PREFIX: &str = "v1.";

/// 32 random bytes as lowercase hex after `prefix` (`mts_…`, `mta_…`).
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    format!("{prefix}{}", hex(&bytes))
}

/// The lowercase hex SHA-256 of a bearer secret, as stored.
pub fn sha256_hex(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The server key and what is derived from it. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct ServerKey {
    sealing: [u8; 32],
    mac: hmac::Key,
    fingerprint: String,
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

/// A sealed value that cannot be opened: wrong key, or altered.
#[derive(Debug, thiserror::Error)]
#[error("the stored secret cannot be decrypted (another server key, or the value was altered)")]
pub struct Unsealable;

impl ServerKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; SERVER_KEY_LEN]) -> Self {
        let master = hmac::Key::new(hmac::HMAC_SHA256, bytes);
        let derive = |label: &str| -> [u8; 32] {
            let tag = hmac::sign(&master, label.as_bytes());
            let mut out = [0u8; 32];
            out.copy_from_slice(tag.as_ref());
            out
        };
        let sealing = derive("mobietrain-scim/seal/v1");
        let mac = hmac::Key::new(hmac::HMAC_SHA256, &derive("mobietrain-scim/mac/v1"));
        let fingerprint = hex(&derive("mobietrain-scim/fingerprint/v1")[..16]);
        Self {
            sealing,
            mac,
            fingerprint,
        }
    }

    /// Names the key without revealing it: an HMAC under the key of a fixed label (32 hex
    /// characters), stored in the database so that an instance with another key refuses to start
    /// (`db::server_key`). Knowing it helps no one find the key or anything derived from it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// A fresh random key (tests, and the first start of a single SQLite instance).
    pub fn generate() -> Self {
        Self::from_bytes(&random_key())
    }

    /// Reads a key written as 64 hex characters or as base64 (standard or URL-safe) of 32 bytes.
    /// A wrong length is reported as the operator wrote it: in hex characters when the text is
    /// hex, in bytes when it is base64.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let hex_len = 2 * SERVER_KEY_LEN;
        if text.bytes().all(|b| b.is_ascii_hexdigit()) && !text.is_empty() {
            if text.len() != hex_len {
                bail!(
                    "the server key must be {hex_len} hex characters (`openssl rand -hex 32`); \
                     this one has {}",
                    text.len()
                );
            }
            let bytes: Vec<u8> = (0..SERVER_KEY_LEN)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<_, _>>()?;
            let bytes: [u8; SERVER_KEY_LEN] = bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("the server key is not {hex_len} hex characters"))?;
            return Ok(Self::from_bytes(&bytes));
        }
        let t = text.trim_end_matches('=');
        let bytes = URL_SAFE_NO_PAD
            .decode(t.replace('+', "-").replace('/', "_"))
            .map_err(|_| {
                anyhow::anyhow!(
                    "the server key must be {hex_len} hex characters (`openssl rand -hex 32`) \
                     or the base64 of {SERVER_KEY_LEN} bytes; this one is neither"
                )
            })?;
        let bytes: [u8; SERVER_KEY_LEN] = bytes.try_into().map_err(|b: Vec<u8>| {
            anyhow::anyhow!(
                "the server key must be {hex_len} hex characters (`openssl rand -hex 32`) or the \
                 base64 of {SERVER_KEY_LEN} bytes; this base64 holds {} bytes",
                b.len()
            )
        })?;
        Ok(Self::from_bytes(&bytes))
    }

    /// The server key from `SERVER_KEY` if given, else from `file`. A missing file gets a new
    /// random key only when `may_create` (a single SQLite instance): instances sharing a
    /// PostgreSQL database must share one key, so they must be given it. The new key's file is
    /// not written here but by [`NewKeyFile::write`], once the database has accepted the key (its
    /// fingerprint), so a start that fails leaves no key file behind.
    pub fn load(
        given: Option<&str>,
        file: &Path,
        may_create: bool,
    ) -> anyhow::Result<(Self, Option<NewKeyFile>)> {
        if let Some(text) = given.filter(|t| !t.trim().is_empty()) {
            return Ok((Self::parse(text).context("SERVER_KEY")?, None));
        }
        match std::fs::read_to_string(file) {
            Ok(text) => Ok((
                Self::parse(&text).with_context(|| format!("the key file {}", file.display()))?,
                None,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => {
                let bytes = random_key();
                let new = NewKeyFile {
                    path: file.to_owned(),
                    text: format!("{}\n", hex(&bytes)),
                };
                Ok((Self::from_bytes(&bytes), Some(new)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no server key: the key file {} does not exist and SERVER_KEY is not set. Run this \
                 where the server runs, with its SERVER_KEY or SERVER_KEY_FILE (a relative path is \
                 read from the current directory); every instance sharing this database needs the \
                 same key (64 hex characters, e.g. from `openssl rand -hex 32`)",
                std::path::absolute(file)
                    .unwrap_or_else(|_| file.to_owned())
                    .display()
            ),
            Err(e) => {
                Err(e).with_context(|| format!("cannot read the key file {}", file.display()))
            }
        }
    }

    /// Encrypts `plaintext`, bound to `context` (say `crewplanner_links:<account id>`): a sealed value
    /// copied to another row does not open there.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let key = self.aead();
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system's random source is available");
        let mut buf = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut buf,
        )
        .expect("AES-GCM seals any input of this size");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts what [`ServerKey::seal`] made under the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, Unsealable> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(Unsealable)?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| Unsealable)?;
        if raw.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealable)?;
        let mut buf = ciphertext.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| Unsealable)?;
        Ok(plain.to_vec())
    }

    /// A keyed digest of `parts` under `purpose`, URL-safe base64 (43 characters). Parts are
    /// length-prefixed, so `("ab","c")` and `("a","bc")` differ.
    pub fn mac(&self, purpose: &str, parts: &[&[u8]]) -> String {
        let mut ctx = hmac::Context::with_key(&self.mac);
        for part in std::iter::once(purpose.as_bytes()).chain(parts.iter().copied()) {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
    }

    /// Whether `given` is the digest [`ServerKey::mac`] makes of `parts`, compared in constant time.
    pub fn verify_mac(&self, purpose: &str, parts: &[&[u8]], given: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.mac(purpose, parts);
        bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &self.sealing).expect("a 32-byte key is an AES-256 key"),
        )
    }
}

/// A server key made by [`ServerKey::load`] that still has to be written to its file.
#[derive(Debug)]
pub struct NewKeyFile {
    path: std::path::PathBuf,
    text: String,
}

impl NewKeyFile {
    /// Writes the key to its file, readable by this user only (mode 0600); refuses to replace a
    /// file that appeared in the meantime.
    pub fn write(self) -> anyhow::Result<()> {
        write_private(&self.path, &self.text).with_context(|| {
            format!("cannot create the server key file {}", self.path.display())
        })?;
        tracing::warn!(
            file = %self.path.display(),
            "created a new server key file; back it up with the database: secrets and \
             invitation links depend on it"
        );
        Ok(())
    }
}

fn random_key() -> [u8; SERVER_KEY_LEN] {
    let mut bytes = [0u8; SERVER_KEY_LEN];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    bytes
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let key = ServerKey::generate();
        let sealed = key.seal("crewplanner_links:a", b"s3cret");
        assert!(!sealed.contains("s3cret"));
        assert_eq!(key.open("crewplanner_links:a", &sealed).unwrap(), b"s3cret");
        assert!(key.open("crewplanner_links:b", &sealed).is_err());
        assert!(
            ServerKey::generate()
                .open("crewplanner_links:a", &sealed)
                .is_err()
        );
        let mut altered = sealed.clone();
        altered.pop();
        altered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(key.open("crewplanner_links:a", &altered).is_err());
        // A fresh nonce each time: the same secret seals differently.
        assert_ne!(key.seal("c", b"x"), key.seal("c", b"x"));
    }

    #[test]
    fn macs_depend_on_key_purpose_and_part_boundaries() {
        let key = ServerKey::parse(&"ab".repeat(32)).unwrap();
        let same = ServerKey::parse(&"ab".repeat(32)).unwrap();
        let m = key.mac("invitation", &[b"ab", b"c"]);
        assert_eq!(m, same.mac("invitation", &[b"ab", b"c"]));
        assert!(key.verify_mac("invitation", &[b"ab", b"c"], &m));
        assert_ne!(m, key.mac("invitation", &[b"a", b"bc"]));
        assert_ne!(m, key.mac("other", &[b"ab", b"c"]));
        assert_ne!(m, ServerKey::generate().mac("invitation", &[b"ab", b"c"]));
        assert!(!key.verify_mac("invitation", &[b"ab", b"c"], &m[1..]));
    }

    #[test]
    fn keys_parse_from_hex_and_base64_and_refuse_other_lengths() {
        assert!(ServerKey::parse(&"0f".repeat(32)).is_ok());
        assert!(ServerKey::parse(&URL_SAFE_NO_PAD.encode([7u8; 32])).is_ok());
        assert!(
            ServerKey::parse(&base64::engine::general_purpose::STANDARD.encode([200u8; 32]))
                .is_ok()
        );
        let short = ServerKey::parse("abc").unwrap_err().to_string();
        assert!(
            short.contains("64 hex characters") && short.contains("has 3"),
            "{short}"
        );
        assert!(ServerKey::parse(&"0f".repeat(16)).is_err());
        assert!(ServerKey::parse("not a key").is_err());
    }

    #[test]
    fn the_fingerprint_names_the_key_and_is_none_of_its_derived_keys() {
        let key = ServerKey::parse(&"ab".repeat(32)).unwrap();
        let same = ServerKey::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(key.fingerprint(), same.fingerprint());
        assert_ne!(key.fingerprint(), ServerKey::generate().fingerprint());
        assert_eq!(key.fingerprint().len(), 32);
        assert!(!key.fingerprint().contains(&"ab".repeat(16)));
    }

    #[test]
    fn load_creates_a_private_key_file_once_and_only_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k");
        assert!(ServerKey::load(None, &file, false).is_err());
        let (first, new) = ServerKey::load(None, &file, true).unwrap();
        assert!(
            !file.exists(),
            "nothing is written before the database accepted the key"
        );
        new.unwrap().write().unwrap();
        let (again, none) = ServerKey::load(None, &file, true).unwrap();
        assert!(none.is_none());
        assert_eq!(first.mac("p", &[]), again.mac("p", &[]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "no one but the owner reads the key file");
        }
        let (given, _) = ServerKey::load(Some(&"11".repeat(32)), &file, true).unwrap();
        assert_ne!(given.mac("p", &[]), first.mac("p", &[]));
    }
}
