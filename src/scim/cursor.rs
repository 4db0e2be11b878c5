//! Cursor paging (RFC 9865), the protocol part: where a page ended (the last resource's sort
//! value and id, a keyset [`Position`]), which way the walk goes from there (`nextCursor` on, or
//! `previousCursor` back), the `totalResults` counted on the walk's first page, and the cursor
//! that carries them to the client ([`Resume`]). A cursor is opaque and tamper-evident: that
//! payload and its issue time, URL-safe base64, then a keyed digest over the account, the query
//! and the payload, made and checked by a key the caller holds (the server key's,
//! [`crate::crypto::ServerKey::mac`]). A cursor replayed on another account or another query
//! fails the digest (`invalidCursor`); one older than the timeout is `expiredCursor`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::error::InputError;

/// The longest cursor read; ours are far shorter.
pub const MAX_CURSOR_LEN: usize = 2048;

/// The sort value of a resource, as the database compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    /// The resource has no value (sorted last in either direction).
    Null,
    /// A text value (folded where the attribute is case-insensitive).
    Text(String),
    /// A boolean.
    Bool(bool),
    /// A timestamp, to the nanosecond: the exact value the database holds, so that a page
    /// boundary compares equal to the row it came from.
    Time(NaiveDateTime),
}

/// Where a page ended: the last resource's sort value (none when sorted by id alone) and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The sort value, when a `sortBy` is in force.
    pub key: Option<SortValue>,
    /// The resource's id (the tie-breaker, and the whole key without `sortBy`).
    pub id: String,
}

/// Where a cursor resumes a walk: the page after `position` (a `nextCursor`), or the page before
/// it (a `previousCursor`), and the walk's `totalResults`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The boundary: the last resource of the page before (or the first of the page after).
    pub position: Position,
    /// Whether the page wanted is the one before `position`.
    pub backward: bool,
    /// `totalResults` as counted on the walk's first page (none in cursors of older servers).
    pub total: Option<u64>,
}

/// How a list is paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// `startIndex` and `count` (RFC 7644 §3.4.2.4), the default.
    Index,
    /// A cursor (RFC 9865): the first page (`None`), or the page before or after a position.
    Cursor(Option<Resume>),
}

/// The payload of a cursor, as serialised (short keys keep cursors short).
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    /// The sort value: absent without `sortBy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<Key>,
    /// The id.
    i: String,
    /// Issued at, Unix seconds.
    t: i64,
    /// Backward: the page before the position.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    b: bool,
    /// The walk's total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
enum Key {
    N,
    S(String),
    B(bool),
    /// Seconds since the epoch and nanoseconds.
    T(i64, u32),
}

/// Makes a cursor of `resume`, issued at `now` (Unix seconds); `mac` is the keyed digest of the
/// payload (bound by the caller to the account and the query).
pub fn seal(resume: &Resume, now: i64, mac: impl FnOnce(&[u8]) -> String) -> String {
    let position = &resume.position;
    let payload = Payload {
        k: position.key.as_ref().map(|k| match k {
            SortValue::Null => Key::N,
            SortValue::Text(s) => Key::S(s.clone()),
            SortValue::Bool(b) => Key::B(*b),
            SortValue::Time(t) => {
                let t = t.and_utc();
                Key::T(t.timestamp(), t.timestamp_subsec_nanos())
            }
        }),
        i: position.id.clone(),
        t: now,
        b: resume.backward,
        n: resume.total,
    };
    let json = serde_json::to_vec(&payload).expect("a cursor payload serialises");
    let digest = mac(&json);
    format!("{}.{digest}", URL_SAFE_NO_PAD.encode(json))
}

/// Reads a cursor made by [`seal`]: `verify` checks the digest of the payload, `now` and
/// `timeout_secs` its age. Anything not made by us for this account and query is
/// `invalidCursor`; one made longer ago than the timeout is `expiredCursor`.
pub fn open(
    cursor: &str,
    now: i64,
    timeout_secs: u64,
    verify: impl FnOnce(&[u8], &str) -> bool,
) -> Result<Resume, InputError> {
    let invalid = || {
        InputError::invalid_cursor(
            "the cursor is not valid for this request: send an empty cursor for the first page, \
             then the nextCursor of the previous page with the same filter and sort",
        )
    };
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid());
    }
    let (body, digest) = cursor.split_once('.').ok_or_else(invalid)?;
    let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid())?;
    if !verify(&json, digest) {
        return Err(invalid());
    }
    let payload: Payload = serde_json::from_slice(&json).map_err(|_| invalid())?;
    let age = now.saturating_sub(payload.t);
    if age < 0 || age.unsigned_abs() > timeout_secs {
        return Err(InputError::expired_cursor(format!(
            "the cursor has expired (cursors last {timeout_secs} seconds); start again with an \
             empty cursor"
        )));
    }
    let key = match payload.k {
        None => None,
        Some(Key::N) => Some(SortValue::Null),
        Some(Key::S(s)) => Some(SortValue::Text(s)),
        Some(Key::B(b)) => Some(SortValue::Bool(b)),
        Some(Key::T(secs, nanos)) => Some(SortValue::Time(
            DateTime::from_timestamp(secs, nanos)
                .ok_or_else(invalid)?
                .naive_utc(),
        )),
    };
    Ok(Resume {
        position: Position { key, id: payload.i },
        backward: payload.b,
        total: payload.n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(tag: &str) -> impl Fn(&[u8]) -> String + '_ {
        move |payload: &[u8]| format!("{tag}{}", payload.len())
    }

    #[test]
    fn a_cursor_round_trips_and_refuses_tampering_and_age() {
        let at = DateTime::from_timestamp(1_800_000_000, 123_456_789)
            .unwrap()
            .naive_utc();
        for key in [
            None,
            Some(SortValue::Null),
            Some(SortValue::Text("ann".into())),
            Some(SortValue::Bool(true)),
            Some(SortValue::Time(at)),
        ] {
            for (backward, total) in [(false, Some(12_000)), (true, None)] {
                let resume = Resume {
                    position: Position {
                        key: key.clone(),
                        id: "019a-id".into(),
                    },
                    backward,
                    total,
                };
                let cursor = seal(&resume, 1000, mac("k"));
                let opened = open(&cursor, 1100, 600, |p, d| mac("k")(p) == d).unwrap();
                assert_eq!(opened, resume);
            }
            let position = Resume {
                position: Position {
                    key,
                    id: "019a-id".into(),
                },
                backward: false,
                total: Some(1),
            };
            let cursor = seal(&position, 1000, mac("k"));
            let other = open(&cursor, 1100, 600, |p, d| mac("x")(p) == d).unwrap_err();
            assert_eq!(
                other.scim_type,
                super::super::error::ScimType::InvalidCursor
            );
            let old = open(&cursor, 1601, 600, |p, d| mac("k")(p) == d).unwrap_err();
            assert_eq!(old.scim_type, super::super::error::ScimType::ExpiredCursor);
        }
        for junk in ["", "abc", "abc.def", "!!.x"] {
            assert!(open(junk, 0, 600, |_, _| true).is_err());
        }
    }
}
