//! An account's CrewPlanner integration as stored: its slug, whether it is on, and its own keys if
//! it overrides the server's (public keys in clear, an HS256 secret sealed with the server key).

use crate::db::FetchOptional;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::keys::{self, VerifyingKey};
use crate::crypto::ServerKey;
use crate::db::models::CrewPlannerLinkRow;
use crate::db::schema::crewplanner_links;
use crate::db::{self, DbConn};
use crate::error::ServiceError;

/// The longest slug: a DNS label.
pub const MAX_SLUG_LEN: usize = 63;

/// Where an account's verification keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChoice {
    /// The server-wide CrewPlanner keys.
    Platform,
    /// The account's own JWKS document.
    Jwks(String),
    /// The account's own public key in PEM.
    Pem(String),
    /// The account's own HS256 secret (bytes, sealed when stored).
    Hs256(Vec<u8>),
}

impl KeyChoice {
    fn kind(&self) -> &'static str {
        match self {
            KeyChoice::Platform => "platform",
            KeyChoice::Jwks(_) => "jwks",
            KeyChoice::Pem(_) => "pem",
            KeyChoice::Hs256(_) => "hs256",
        }
    }
}

fn seal_context(account_id: &str) -> String {
    format!("crewplanner_links.key_material:{account_id}")
}

/// Checks a slug: a DNS label (lowercase letters, digits, inner hyphens).
pub fn check_slug(slug: &str) -> Result<(), ServiceError> {
    let ok = !slug.is_empty()
        && slug.len() <= MAX_SLUG_LEN
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid_value(format!(
            "the slug must be the CrewPlanner subdomain: 1 to {MAX_SLUG_LEN} lowercase letters, digits and inner hyphens"
        )))
    }
}

/// Turns CrewPlanner on for an account (or changes its slug or keys). The keys are checked before
/// anything is stored.
pub fn enable(
    conn: &mut DbConn,
    server_key: &ServerKey,
    account_id: &str,
    slug: &str,
    choice: &KeyChoice,
    now: NaiveDateTime,
) -> Result<CrewPlannerLinkRow, ServiceError> {
    check_slug(slug)?;
    crate::accounts::find_account(conn, account_id)?;
    let material = match choice {
        KeyChoice::Platform => None,
        KeyChoice::Jwks(doc) => {
            keys::from_jwks(doc).map_err(|e| ServiceError::invalid_value(format!("{e:#}")))?;
            Some(doc.clone())
        }
        KeyChoice::Pem(pem) => {
            keys::from_pem(pem, None).map_err(|e| ServiceError::invalid_value(format!("{e:#}")))?;
            Some(pem.clone())
        }
        KeyChoice::Hs256(secret) => {
            keys::hs256(secret).map_err(|e| ServiceError::invalid_value(format!("{e:#}")))?;
            Some(server_key.seal(&seal_context(account_id), secret))
        }
    };
    let row = CrewPlannerLinkRow {
        account_id: account_id.to_owned(),
        slug: slug.to_owned(),
        enabled: true,
        key_kind: choice.kind().to_owned(),
        key_material: material,
        created_at: now,
        updated_at: now,
    };
    db::write_transaction(conn, |conn| {
        match find(conn, account_id)? {
            Some(existing) => {
                diesel::update(crewplanner_links::table.find(account_id))
                    .set(&CrewPlannerLinkRow {
                        created_at: existing.created_at,
                        ..row.clone()
                    })
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(crewplanner_links::table)
                    .values(&row)
                    .execute(conn)?;
            }
        }
        Ok(row)
    })
}

/// Turns CrewPlanner off for an account (its settings are kept for turning it on again).
pub fn disable(
    conn: &mut DbConn,
    account_id: &str,
    now: NaiveDateTime,
) -> Result<CrewPlannerLinkRow, ServiceError> {
    let n = diesel::update(crewplanner_links::table.find(account_id))
        .set((
            crewplanner_links::enabled.eq(false),
            crewplanner_links::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(ServiceError::NotFound("CrewPlanner integration"));
    }
    find(conn, account_id)?.ok_or(ServiceError::NotFound("CrewPlanner integration"))
}

/// The account's integration, if it was ever enabled.
pub fn find(
    conn: &mut DbConn,
    account_id: &str,
) -> Result<Option<CrewPlannerLinkRow>, ServiceError> {
    Ok(crewplanner_links::table
        .find(account_id)
        .select(CrewPlannerLinkRow::as_select())
        .fetch_optional(conn)?)
}

/// The account's own keys, or `None` when it uses the server's.
pub fn own_keys(
    row: &CrewPlannerLinkRow,
    server_key: &ServerKey,
) -> anyhow::Result<Option<Vec<VerifyingKey>>> {
    let material = row.key_material.as_deref().unwrap_or_default();
    Ok(match row.key_kind.as_str() {
        "platform" => None,
        "jwks" => Some(keys::from_jwks(material)?),
        "pem" => Some(vec![keys::from_pem(material, None)?]),
        "hs256" => {
            let secret = server_key.open(&seal_context(&row.account_id), material)?;
            Some(vec![keys::hs256(&secret)?])
        }
        other => anyhow::bail!("unknown key kind {other:?}"),
    })
}
