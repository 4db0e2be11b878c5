//! The one-time re-fold of the identity shadow columns (DESIGN §4 "Identity folding").
//!
//! Shadow columns written before [`fold_identity`] hold the older fold (NFC + lowercase). After the
//! schema migrations, under the same lock, the server walks `users.user_name_ci`,
//! `user_emails.value_ci` and `groups.display_name_ci` in pages and rewrites every value that
//! differs from the identity fold, once (recorded in `data_migrations`).
//!
//! Two rows of one account whose identifiers were distinct under the older fold may fold to the
//! same form now (`Straße` and `STRASSE`). Both are kept: the older row (ids are UUIDv7, so id
//! order is creation order) takes the fold, the later one a value no identifier folds to
//! ([`distinct_shadow`]), and the pair is reported by id only, in the log (WARN) and in the
//! provisioning log (`user.fold_collision`, `group.fold_collision`). Lookups by either spelling
//! then find the older row; the later one is still reached by id and externalId. E-mail values
//! carry no uniqueness rule, so they are simply re-folded.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Event};
use crate::context::Actor;
use crate::db::models::{DataMigrationRow, ShadowRow};
use crate::db::schema::data_migrations;
use crate::db::{self, DbConn};
use crate::groups::storage as group_storage;
use crate::text::{distinct_shadow, fold_identity};
use crate::users::storage as user_storage;

/// The name this re-fold is recorded under in `data_migrations`.
pub const NAME: &str = "identity_fold_nfkc_casefold";

/// Rows read per page (and written per transaction) by [`run_once`]: bounded memory whatever the
/// table's size.
pub const PAGE: i64 = 500;

/// How many rows in a chain of stale shadow values are moved out of the way before a collision is
/// declared instead (a chain needs older data that folds in circles; it has not been seen).
const MAX_CHAIN: usize = 4;

/// What one run changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// userName shadow values rewritten (marked ones included).
    pub users: u64,
    /// E-mail shadow values rewritten.
    pub emails: u64,
    /// displayName shadow values rewritten (marked ones included).
    pub groups: u64,
    /// Pairs of users kept distinct.
    pub user_collisions: u64,
    /// Pairs of groups kept distinct.
    pub group_collisions: u64,
}

/// A unique shadow column: its owner module reads and writes it.
#[derive(Debug, Clone, Copy)]
enum Column {
    UserName,
    GroupDisplayName,
}

impl Column {
    fn page(
        self,
        conn: &mut DbConn,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<ShadowRow>> {
        match self {
            Column::UserName => user_storage::user_name_page(conn, after, limit),
            Column::GroupDisplayName => group_storage::display_name_page(conn, after, limit),
        }
    }

    fn row(self, conn: &mut DbConn, id: &str) -> QueryResult<Option<ShadowRow>> {
        match self {
            Column::UserName => user_storage::user_name_row(conn, id),
            Column::GroupDisplayName => group_storage::display_name_row(conn, id),
        }
    }

    fn holder(
        self,
        conn: &mut DbConn,
        row: &ShadowRow,
        shadow: &str,
    ) -> QueryResult<Option<ShadowRow>> {
        match self {
            Column::UserName => {
                user_storage::user_name_holder(conn, &row.account_id, shadow, &row.id)
            }
            Column::GroupDisplayName => {
                group_storage::display_name_holder(conn, &row.account_id, shadow, &row.id)
            }
        }
    }

    fn set(self, conn: &mut DbConn, id: &str, shadow: &str) -> QueryResult<()> {
        match self {
            Column::UserName => user_storage::set_user_name_ci(conn, id, shadow),
            Column::GroupDisplayName => group_storage::set_display_name_ci(conn, id, shadow),
        }
    }

    fn resource_type(self) -> &'static str {
        match self {
            Column::UserName => "User",
            Column::GroupDisplayName => "Group",
        }
    }

    fn attribute(self) -> &'static str {
        match self {
            Column::UserName => "userName",
            Column::GroupDisplayName => "displayName",
        }
    }

    fn collision_code(self) -> &'static str {
        match self {
            Column::UserName => "user.fold_collision",
            Column::GroupDisplayName => "group.fold_collision",
        }
    }
}

/// Whether `row`'s shadow value is what the identity fold asks for: its fold, or its fold marked
/// distinct by an earlier run.
fn settled(row: &ShadowRow, folded: &str) -> bool {
    row.shadow == folded || row.shadow == distinct_shadow(folded, &row.id)
}

/// Runs the re-fold unless it completed before; `None` when it had. Each page is one write
/// transaction (a savepoint inside the caller's, as under SQLite's migration lock), so a run that
/// fails part-way keeps what it did and the next run carries on from there.
pub fn run_once(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Option<Report>> {
    run_once_in_pages(conn, now, PAGE)
}

/// [`run_once`] with pages of `page` rows (tests walk small data across page boundaries).
pub fn run_once_in_pages(
    conn: &mut DbConn,
    now: NaiveDateTime,
    page: i64,
) -> QueryResult<Option<Report>> {
    let done = data_migrations::table
        .filter(data_migrations::name.eq(NAME))
        .select(data_migrations::name)
        .load::<String>(conn)?;
    if !done.is_empty() {
        return Ok(None);
    }
    let mut report = Report::default();
    refold_unique(conn, Column::UserName, page, now, &mut report)?;
    refold_unique(conn, Column::GroupDisplayName, page, now, &mut report)?;
    refold_emails(conn, page, &mut report)?;
    diesel::insert_into(data_migrations::table)
        .values(DataMigrationRow {
            name: NAME.to_owned(),
            completed_at: now,
        })
        .execute(conn)?;
    tracing::info!(
        refold.users = report.users,
        refold.emails = report.emails,
        refold.groups = report.groups,
        refold.user_collisions = report.user_collisions,
        refold.group_collisions = report.group_collisions,
        "identity shadow columns re-folded"
    );
    Ok(Some(report))
}

/// [`run_once`] at start: a failure is logged, not returned. The server still starts (a row not
/// re-folded yet is missed only by a look-alike spelling of its identifier), and the next start
/// carries on.
pub fn run_at_start(conn: &mut DbConn, now: NaiveDateTime) {
    if let Err(err) = run_once(conn, now) {
        tracing::error!(
            error = %err,
            "re-folding the identity shadow columns failed; the next start tries again"
        );
    }
}

fn refold_unique(
    conn: &mut DbConn,
    column: Column,
    page: i64,
    now: NaiveDateTime,
    report: &mut Report,
) -> QueryResult<()> {
    let mut after: Option<String> = None;
    loop {
        let last = db::write_transaction(conn, |conn| {
            let rows = column.page(conn, after.as_deref(), page)?;
            for row in &rows {
                if settled(row, &fold_identity(&row.value)) {
                    continue;
                }
                // An earlier row of this page may have moved this one already: read it again.
                if let Some(current) = column.row(conn, &row.id)? {
                    settle(conn, column, &current, now, report, 0)?;
                }
            }
            QueryResult::Ok(rows.last().map(|r| r.id.clone()))
        })?;
        match last {
            Some(id) => after = Some(id),
            None => return Ok(()),
        }
    }
}

/// Gives `row` the shadow value the identity fold asks for. When another row of the account holds
/// that value already: a row that is itself stale is moved to its own fold first; a settled one
/// is a collision.
fn settle(
    conn: &mut DbConn,
    column: Column,
    row: &ShadowRow,
    now: NaiveDateTime,
    report: &mut Report,
    depth: usize,
) -> QueryResult<()> {
    let folded = fold_identity(&row.value);
    if settled(row, &folded) {
        return Ok(());
    }
    let mut holder = column.holder(conn, row, &folded)?;
    if let Some(h) = holder.as_ref()
        && depth < MAX_CHAIN
        && !settled(h, &fold_identity(&h.value))
    {
        settle(conn, column, h, now, report, depth + 1)?;
        holder = column.holder(conn, row, &folded)?;
    }
    let Some(holder) = holder else {
        column.set(conn, &row.id, &folded)?;
        count(column, report, 1, 0);
        return Ok(());
    };
    let (kept, later) = if holder.id < row.id {
        (&holder, row)
    } else {
        (row, &holder)
    };
    // The later row is marked first, so the fold is free for the kept one.
    column.set(conn, &later.id, &distinct_shadow(&folded, &later.id))?;
    if kept.shadow != folded {
        column.set(conn, &kept.id, &folded)?;
    }
    count(column, report, 1 + u64::from(kept.shadow != folded), 1);
    report_collision(conn, column, &row.account_id, &kept.id, &later.id, now)
}

fn count(column: Column, report: &mut Report, rewritten: u64, collisions: u64) {
    match column {
        Column::UserName => {
            report.users += rewritten;
            report.user_collisions += collisions;
        }
        Column::GroupDisplayName => {
            report.groups += rewritten;
            report.group_collisions += collisions;
        }
    }
}

/// Logs a collision (ids only: identifiers are personal data) and records it in the provisioning
/// log of both rows, so either one's history shows it.
fn report_collision(
    conn: &mut DbConn,
    column: Column,
    account_id: &str,
    kept_id: &str,
    later_id: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    tracing::warn!(
        account.id = %account_id,
        kept.id = %kept_id,
        later.id = %later_id,
        code = column.collision_code(),
        "two rows of the account fold to the same {}; both kept, lookups find the older one",
        column.attribute()
    );
    let actor = Actor {
        label: "system".to_owned(),
        token_id: None,
    };
    for id in [kept_id, later_id] {
        audit::record(
            conn,
            account_id,
            &actor,
            Event {
                action: "warn",
                resource_type: column.resource_type(),
                resource_id: Some(id),
                code: column.collision_code(),
                detail: Some(json!({
                    "attribute": column.attribute(),
                    "keptId": kept_id,
                    "laterId": later_id,
                })),
            },
            now,
        )?;
    }
    Ok(())
}

fn refold_emails(conn: &mut DbConn, page: i64, report: &mut Report) -> QueryResult<()> {
    let mut after: Option<(String, i32)> = None;
    loop {
        let last = db::write_transaction(conn, |conn| {
            let rows = user_storage::email_page(
                conn,
                after.as_ref().map(|(u, p)| (u.as_str(), *p)),
                page,
            )?;
            for row in &rows {
                let folded = fold_identity(&row.value);
                if row.shadow != folded {
                    user_storage::set_email_value_ci(conn, &row.user_id, row.position, &folded)?;
                    report.emails += 1;
                }
            }
            QueryResult::Ok(rows.last().map(|r| (r.user_id.clone(), r.position)))
        })?;
        match last {
            Some(key) => after = Some(key),
            None => return Ok(()),
        }
    }
}
