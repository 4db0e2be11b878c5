//! Signing in again without a password: a registered user asks for a one-time code by e-mail or
//! text message (`POST /app/v1/sign-in/code`) and trades it for an app session
//! (`POST /app/v1/sign-in`).
//!
//! - **Who gets a code**: exactly one user holds the contact (an identity-folded e-mail or an
//!   E.164 number), in the account named, or in any account when none is; that user is active,
//!   registered and not limited to CrewPlanner ([`crate::users::contact::Holder::may_sign_in`]).
//!   Anyone else (unknown, invited, CrewPlanner-only, deactivated, or a contact several users
//!   hold) gets nothing, and the caller cannot tell: the answer is the same.
//! - **The code** is 6 digits, valid [`CODE_LIFETIME`], single use, void after
//!   [`MAX_WRONG_CODES`] wrong tries; a new code replaces the user's earlier ones. It is stored
//!   nowhere and never sits in a job: it is an HMAC under the server key of the row's id and a
//!   random nonce ([`derive`]), computed by the job that sends it and again by the sign-in that
//!   checks it (compared in constant time), as invitation links are (DESIGN §6). So a copy of the
//!   database or of the job queue holds no usable code, and the job payload is the row's id only.
//! - **Limits** ([`limits`]): code requests per contact and per client address, in this
//!   instance's memory.

pub mod jobs;
pub mod limits;
mod storage;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, NaiveDateTime};
use subtle::ConstantTimeEq;

use crate::crypto::ServerKey;
use crate::db::models::SignInPasscodeRow;
use crate::db::{self, DbConn};
use crate::error::{FieldError, ServiceError};
use crate::jobs::{EnqueueOptions, enqueue};
use crate::sessions::NewSession;
use crate::users::contact::{self, Contact, Holder};

/// How long a code may be used.
pub const CODE_LIFETIME: Duration = Duration::minutes(10);
/// Wrong codes tried against one issued code before it is void.
pub const MAX_WRONG_CODES: i32 = 5;
/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// The longest e-mail address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest phone number accepted as typed.
pub const MAX_PHONE_LEN: usize = 40;
/// The longest account id accepted.
pub const MAX_ACCOUNT_ID_LEN: usize = 64;

const CODE_PURPOSE: &str = "sign-in-passcode";
const CONTACT_PURPOSE: &str = "sign-in-contact";

/// How a code travels.
pub mod channel {
    /// By e-mail.
    pub const EMAIL: &str = "email";
    /// By text message.
    pub const TEXT: &str = "text";
}

/// Who asks: a contact, and the account to look in (any account when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker {
    /// The contact, normalised.
    pub contact: Contact,
    /// The account to look in.
    pub account_id: Option<String>,
}

impl Asker {
    /// Reads what the client sent: exactly one of `email` and `phone` (a number with its country
    /// code), and an optional account id. Errors name the field and what to send.
    pub fn parse(
        email: Option<&str>,
        phone: Option<&str>,
        account_id: Option<&str>,
    ) -> Result<Self, ServiceError> {
        let contact = match (email, phone) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(ServiceError::InvalidFields(vec![FieldError::new(
                    "email",
                    "send either email or phone (one of them, not both)",
                )]));
            }
            (Some(email), None) => {
                let email = email.trim();
                let plausible = email.len() <= MAX_EMAIL_LEN
                    && email
                        .split_once('@')
                        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
                    && !email.chars().any(|c| c.is_control() || c.is_whitespace());
                if !plausible {
                    return Err(ServiceError::InvalidFields(vec![FieldError::new(
                        "email",
                        "must be an e-mail address (name@example.com)",
                    )]));
                }
                Contact::Email(crate::text::fold_identity(email))
            }
            (None, Some(phone)) => {
                let e164 = (phone.len() <= MAX_PHONE_LEN)
                    .then(|| crate::phone::e164(phone))
                    .flatten();
                let Some(e164) = e164 else {
                    return Err(ServiceError::InvalidFields(vec![FieldError::new(
                        "phone",
                        "must be a phone number with its country code (+32 470 12 34 56)",
                    )]));
                };
                Contact::Phone(e164)
            }
        };
        let account_id = match account_id {
            Some(a) if a.is_empty() || a.len() > MAX_ACCOUNT_ID_LEN => {
                return Err(ServiceError::InvalidFields(vec![FieldError::new(
                    "accountId",
                    "must be the id of a MobieTrain account",
                )]));
            }
            other => other.map(str::to_owned),
        };
        Ok(Self {
            contact,
            account_id,
        })
    }

    /// The contact's keyed digest: what the code row keeps of it, and the rate limit's key.
    pub fn contact_mac(&self, key: &ServerKey) -> String {
        contact_mac(key, &self.contact)
    }
}

fn contact_mac(key: &ServerKey, contact: &Contact) -> String {
    let kind = match contact {
        Contact::Email(_) => channel::EMAIL,
        Contact::Phone(_) => channel::TEXT,
    };
    key.mac(
        CONTACT_PURPOSE,
        &[kind.as_bytes(), contact.value().as_bytes()],
    )
}

/// The code of passcode `id` with `nonce`: six digits of an HMAC under the server key.
pub fn derive(key: &ServerKey, id: &str, nonce: &str) -> String {
    let mac = key.mac(CODE_PURPOSE, &[id.as_bytes(), nonce.as_bytes()]);
    let bytes = URL_SAFE_NO_PAD
        .decode(mac)
        .expect("a MAC is URL-safe base64");
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes[..8]);
    // 2^64 is 18446744073709551616: the bias of the remainder is below 10^-13.
    format!("{:06}", u64::from_be_bytes(first) % 1_000_000)
}

/// The one user who may sign in with the asker's contact, if there is exactly one holder and
/// they may.
fn signer(conn: &mut DbConn, asker: &Asker) -> Result<Option<Holder>, ServiceError> {
    let holders = contact::holders(conn, &asker.contact, asker.account_id.as_deref(), 2)?;
    Ok(match holders.as_slice() {
        [one] if one.may_sign_in() => Some(one.clone()),
        _ => None,
    })
}

/// What a code request did (never told to the client: the answer is the same either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// A code was issued and its sending queued.
    Queued,
    /// Nobody (or nobody who may) holds the contact; nothing was written.
    Nothing,
}

/// Issues a code for the asker's contact when exactly one user may sign in with it, and queues
/// its sending, in one transaction; the user's earlier codes, and expired codes of anyone, go.
/// Both outcomes read the same rows and compute the same digests; only the issue writes.
pub fn request_code(
    conn: &mut DbConn,
    key: &ServerKey,
    asker: &Asker,
    now: NaiveDateTime,
) -> Result<Requested, ServiceError> {
    let contact_mac = asker.contact_mac(key);
    let id = crate::context::new_id();
    let nonce = crate::crypto::hex(&random_bytes());
    // Computed on both paths, so a miss costs what a hit does up to the write.
    let _ = derive(key, &id, &nonce);
    let Some(user) = signer(conn, asker)? else {
        return Ok(Requested::Nothing);
    };
    let channel = match asker.contact {
        Contact::Email(_) => channel::EMAIL,
        Contact::Phone(_) => channel::TEXT,
    };
    db::write_transaction(conn, |conn| {
        storage::delete_expired(conn, now)?;
        storage::delete_for_user(conn, &user.user_id)?;
        storage::insert(
            conn,
            &SignInPasscodeRow {
                id: id.clone(),
                account_id: user.account_id.clone(),
                user_id: user.user_id.clone(),
                channel: channel.to_owned(),
                contact_mac: contact_mac.clone(),
                nonce: nonce.clone(),
                failed_attempts: 0,
                created_at: now,
                expires_at: now + CODE_LIFETIME,
            },
        )?;
        let job = jobs::SendCode {
            passcode_id: id.clone(),
        };
        enqueue(
            conn,
            &job,
            EnqueueOptions {
                account_id: Some(user.account_id.clone()),
                dedup_key: Some(job.key()),
                priority: 10,
                ..EnqueueOptions::default()
            },
            now,
        )?;
        Ok::<(), ServiceError>(())
    })?;
    tracing::info!(account.id = %user.account_id, sign_in.channel = channel, "sign-in code issued");
    Ok(Requested::Queued)
}

fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    bytes
}

/// Why a sign-in was refused. The client is told the same for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The code is not six digits.
    Malformed,
    /// No live code for this contact, or the wrong one (counted against the code).
    Wrong,
}

/// Trades a code for a session. The code row is read, checked and deleted (or its wrong tries
/// counted, and at [`MAX_WRONG_CODES`] deleted) in one transaction, so of two concurrent tries of
/// the right code exactly one opens a session.
pub fn sign_in(
    conn: &mut DbConn,
    key: &ServerKey,
    asker: &Asker,
    code: &str,
    session_lifetime: Duration,
    now: NaiveDateTime,
) -> Result<Result<NewSession, Refused>, ServiceError> {
    if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Err(Refused::Malformed));
    }
    let contact_mac = asker.contact_mac(key);
    let Some(user) = signer(conn, asker)? else {
        return Ok(Err(Refused::Wrong));
    };
    db::write_transaction(conn, |conn| {
        let Some(row) = storage::latest(conn, &user.user_id, &contact_mac)? else {
            return Ok(Err(Refused::Wrong));
        };
        if row.expires_at <= now || row.failed_attempts >= MAX_WRONG_CODES {
            storage::delete(conn, &row.id)?;
            return Ok(Err(Refused::Wrong));
        }
        let expected = derive(key, &row.id, &row.nonce);
        if !bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            let tries = storage::count_wrong(conn, &row.id)?;
            if tries >= MAX_WRONG_CODES {
                storage::delete(conn, &row.id)?;
                tracing::info!(account.id = %row.account_id, "sign-in code void after too many wrong tries");
            }
            return Ok(Err(Refused::Wrong));
        }
        if !storage::delete(conn, &row.id)? {
            return Ok(Err(Refused::Wrong));
        }
        crate::sessions::create(
            conn,
            &row.account_id,
            &row.user_id,
            crate::sessions::via::CODE,
            session_lifetime,
            now,
        )
        .map(Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_differ_by_row() {
        let key = ServerKey::generate();
        let a = derive(&key, "id1", "n1");
        assert_eq!(a.len(), 6);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(a, derive(&key, "id1", "n1"));
        let others: std::collections::BTreeSet<_> = (0..20)
            .map(|i| derive(&key, "id1", &format!("n{i}")))
            .collect();
        assert!(others.len() > 15, "{others:?}");
        assert_ne!(a, derive(&ServerKey::generate(), "id1", "n1"));
    }

    #[test]
    fn askers_are_read_and_refused_with_a_field() {
        let a = Asker::parse(Some(" Zoë@Example.COM "), None, None).unwrap();
        assert_eq!(a.contact, Contact::Email("zoë@example.com".into()));
        let p = Asker::parse(None, Some("+32 470 12 34 56"), Some("acc")).unwrap();
        assert_eq!(p.contact, Contact::Phone("+32470123456".into()));
        assert_eq!(p.account_id.as_deref(), Some("acc"));
        for (email, phone, account) in [
            (None, None, None),
            (Some("a@b.c"), Some("+32470123456"), None),
            (Some("not an address"), None, None),
            (None, Some("0470 12 34 56"), None),
            (Some("a@b.c"), None, Some("")),
        ] {
            assert!(matches!(
                Asker::parse(email, phone, account),
                Err(ServiceError::InvalidFields(_))
            ));
        }
    }
}
