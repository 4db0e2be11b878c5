//! Reading and writing groups and their memberships, always scoped to one account. Membership
//! changes touch only the rows they change (batched, `ON CONFLICT DO NOTHING`), never the whole
//! member list.

use crate::db::FetchOptional;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit;
use crate::db::cacheable;
use crate::db::listing::{Found, Listing, Reader};
use crate::db::models::{AuditEventRow, GroupMemberRow, GroupRow, ShadowRow};
use crate::db::on_inner;
use crate::db::schema::{group_members, groups, users};
use crate::db::sql::{BindValue, SqlBuilder};
use crate::db::{self, Backend, DbConn};
use crate::error::ServiceError;
use crate::scim::list::ListRequest;
use crate::scim::schema::Registry;

use crate::db::attributes::GROUP_ATTRIBUTES;

/// How many ids one statement carries at most (well under both backends' bind limits).
pub const BATCH: usize = 1000;

/// A member as a group shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The user's id.
    pub user_id: String,
    /// The user's displayName, else userName.
    pub display: String,
}

/// A group as stored: its row and, when asked for, its members (ordered by user id).
#[derive(Debug, Clone, Default)]
pub struct GroupRecord {
    /// The `groups` row.
    pub row: GroupRow,
    /// The members, or `None` when they were not loaded (`excludedAttributes=members`).
    pub members: Option<Vec<Member>>,
}

/// Locks a group's row until the transaction ends, so concurrent writers of one group queue
/// instead of racing (the pattern of `users::storage::lock`), and returns it: one statement.
/// PostgreSQL takes a row lock (`FOR UPDATE`); SQLite needs none (a write transaction holds the
/// database's write lock from `BEGIN IMMEDIATE`). `None` when the account has no such group.
pub fn lock(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<Option<GroupRow>> {
    let query = groups::table
        .filter(groups::account_id.eq(account_id))
        .filter(groups::id.eq(id));
    let found = match conn {
        DbConn::Pg(c) => query
            .select(GroupRow::as_select())
            .for_update()
            .load::<GroupRow>(c)?,
        DbConn::Sqlite(c) => query.select(GroupRow::as_select()).load::<GroupRow>(c)?,
    };
    Ok(found.into_iter().next())
}

/// The row of group `id` in `account_id`.
pub fn row(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<Option<GroupRow>> {
    groups::table
        .filter(groups::account_id.eq(account_id))
        .filter(groups::id.eq(id))
        .select(GroupRow::as_select())
        .fetch_optional(conn)
}

/// The group of `account_id` whose identity-folded displayName ([`crate::text::fold_identity`]) is
/// `display_name_ci`.
pub fn by_name(
    conn: &mut DbConn,
    account_id: &str,
    display_name_ci: &str,
) -> QueryResult<Option<GroupRow>> {
    groups::table
        .filter(groups::account_id.eq(account_id))
        .filter(groups::display_name_ci.eq(display_name_ci))
        .select(GroupRow::as_select())
        .fetch_optional(conn)
}

/// Inserts a new group row.
pub fn insert(conn: &mut DbConn, row: &GroupRow) -> QueryResult<()> {
    diesel::insert_into(groups::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Inserts a group row unless its displayName is taken; returns whether it was inserted.
pub fn insert_if_absent(conn: &mut DbConn, row: &GroupRow) -> QueryResult<bool> {
    let n = on_inner!(conn, |c| diesel::insert_into(groups::table)
        .values(row)
        .on_conflict((groups::account_id, groups::display_name_ci))
        .do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// Writes a group's attribute columns, version and update time.
pub fn update(conn: &mut DbConn, row: &GroupRow) -> QueryResult<()> {
    diesel::update(
        groups::table
            .filter(groups::account_id.eq(&row.account_id))
            .filter(groups::id.eq(&row.id)),
    )
    .set(row)
    .execute(conn)?;
    Ok(())
}

/// Bumps a group's version and update time (after a membership change).
pub fn bump(conn: &mut DbConn, account_id: &str, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    // On the backend's own connection and cached by its text (diesel caches no update by
    // itself): a statement every membership change runs.
    on_inner!(conn, |c| cacheable::update(
        groups::table,
        groups::account_id.eq(account_id).and(groups::id.eq(id)),
        (
            groups::version.eq(groups::version + 1),
            groups::updated_at.eq(now),
        ),
    )
    .execute(c))?;
    Ok(())
}

/// Deletes a group and its memberships (never its users); returns 0 or 1.
pub fn delete(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        group_members::table
            .filter(group_members::account_id.eq(account_id))
            .filter(group_members::group_id.eq(id)),
    )
    .execute(conn)?;
    diesel::delete(
        groups::table
            .filter(groups::account_id.eq(account_id))
            .filter(groups::id.eq(id)),
    )
    .execute(conn)
}

/// The ids worth looking up: one holding a control character is no id of ours, and must not reach
/// PostgreSQL, which cannot take NUL in a text parameter (SQLite would, and answer "not found": the
/// two backends answer alike this way).
fn plausible_ids(ids: &[String]) -> Cow<'_, [String]> {
    if ids.iter().any(|id| implausible(id)) {
        Cow::Owned(ids.iter().filter(|id| !implausible(id)).cloned().collect())
    } else {
        Cow::Borrowed(ids)
    }
}

/// Whether `id` holds a control character, and so is no id of ours (see [`plausible_ids`]).
fn implausible(id: &str) -> bool {
    id.chars().any(char::is_control)
}

/// Which of `ids` are users of `account_id`, in batched queries.
pub fn existing_users(
    conn: &mut DbConn,
    account_id: &str,
    ids: &[String],
) -> QueryResult<HashSet<String>> {
    let mut found = HashSet::with_capacity(ids.len());
    for chunk in plausible_ids(ids).chunks(BATCH) {
        found.extend(
            // On the backend's own connection PostgreSQL gets `= ANY($1)`, one cached statement
            // whatever the count (an `IN` list is parsed anew for every count).
            on_inner!(conn, |c| users::table
                .filter(users::account_id.eq(account_id))
                .filter(users::id.eq_any(chunk))
                .select(users::id)
                .load::<String>(c))?,
        );
    }
    Ok(found)
}

/// Which of `ids` are groups of `account_id`, in batched queries.
pub fn existing_groups(
    conn: &mut DbConn,
    account_id: &str,
    ids: &[String],
) -> QueryResult<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in plausible_ids(ids).chunks(BATCH) {
        found.extend(on_inner!(conn, |c| groups::table
            .filter(groups::account_id.eq(account_id))
            .filter(groups::id.eq_any(chunk))
            .select(groups::id)
            .load::<String>(c))?);
    }
    Ok(found)
}

/// Inserts memberships in batches, skipping those that exist; returns how many were new.
pub fn insert_members(conn: &mut DbConn, rows: &[GroupMemberRow]) -> QueryResult<usize> {
    let mut inserted = 0;
    for chunk in rows.chunks(BATCH) {
        // One row as a single-row insert: a statement diesel caches (a multi-row insert's shape
        // depends on its count, so it is prepared anew each time).
        inserted += on_inner!(conn, |c| match chunk {
            [one] => diesel::insert_into(group_members::table)
                .values(one)
                .on_conflict_do_nothing()
                .execute(c),
            _ => diesel::insert_into(group_members::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(c),
        })?;
    }
    Ok(inserted)
}

/// Makes `user_id` a (plain) member of group `group_id` if it is a user of `account_id` and not a
/// member yet, in one statement (`INSERT … SELECT` from `users`); returns 1 if it did, else 0
/// (the caller tells a member from a stranger apart). An id holding a control character is no
/// user, and is never sent to the database.
pub fn insert_member_if_user(
    conn: &mut DbConn,
    account_id: &str,
    group_id: &str,
    user_id: &str,
) -> QueryResult<usize> {
    if implausible(user_id) {
        return Ok(0);
    }
    let user = users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::id.eq(user_id))
        .select((
            group_id.into_sql::<diesel::sql_types::Text>(),
            users::id,
            users::account_id,
            None::<String>.into_sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(),
        ));
    on_inner!(conn, |c| diesel::insert_into(group_members::table)
        .values(user)
        .into_columns((
            group_members::group_id,
            group_members::user_id,
            group_members::account_id,
            group_members::rule_id,
        ))
        .on_conflict_do_nothing()
        .execute(c))
}

/// One membership change, made alone by [`change_one_member`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneMember {
    /// The user becomes a (plain) member.
    Add,
    /// The user stops being a member.
    Remove,
}

/// Every column of `groups`, named as [`GroupRow`] reads them.
const ROW_COLUMNS: &str = "id, account_id, display_name, display_name_ci, external_id, \
                           group_type, version, created_at, updated_at, origin";

/// One membership change for [`change_one_member`] to make, with the log row it writes.
#[derive(Debug, Clone, Copy)]
pub struct MemberChange<'a> {
    /// Add or remove.
    pub kind: OneMember,
    /// The account of the group and the user.
    pub account_id: &'a str,
    /// The group.
    pub group_id: &'a str,
    /// The user.
    pub user_id: &'a str,
    /// The group's new update time.
    pub now: NaiveDateTime,
    /// The provisioning-log row written when the membership changed.
    pub log: &'a AuditEventRow,
}

/// Makes `change` to a user's membership of a group of the account, moves the group's version on
/// and logs the change, all or nothing: on PostgreSQL in one statement (no transaction around it:
/// one round trip). Returns the group's row as written, or `None` when nothing changed, for
/// whatever reason (no such group, no such user in the account, a member already or no member, an
/// id holding a control character): the caller finds out which on its own. SQLite has no
/// data-modifying `WITH`: there the same steps run one by one in a write transaction (no network,
/// so they cost little), with the same outcome.
pub fn change_one_member(
    conn: &mut DbConn,
    change: &MemberChange<'_>,
) -> QueryResult<Option<GroupRow>> {
    let &MemberChange {
        kind,
        account_id,
        group_id,
        user_id,
        now,
        log,
    } = change;
    if implausible(group_id) || implausible(user_id) {
        return Ok(None);
    }
    if conn.backend() == Backend::Postgres {
        let sql = one_member_statement(change);
        return Ok(sql.cached().load::<GroupRow>(conn)?.into_iter().next());
    }
    db::write_transaction(conn, |conn| {
        let Some(group) = row(conn, account_id, group_id)? else {
            return Ok(None);
        };
        let changed = match kind {
            OneMember::Add => insert_member_if_user(conn, account_id, group_id, user_id)?,
            OneMember::Remove => delete_members(conn, group_id, &[user_id.to_owned()])?,
        };
        if changed == 0 {
            return Ok(None);
        }
        bump(conn, account_id, group_id, now)?;
        audit::storage::insert(conn, log)?;
        Ok(Some(GroupRow {
            version: group.version + 1,
            updated_at: now,
            ..group
        }))
    })
}

/// PostgreSQL's one statement for [`change_one_member`]: the membership change `m`, the version
/// bump `b` of the group it changed (none if `m` changed nothing), the log row `l` for each row
/// `b` wrote, and `b`'s row as the answer. One statement is atomic without `BEGIN`/`COMMIT`.
fn one_member_statement(change: &MemberChange<'_>) -> SqlBuilder {
    let text = |value: &str| BindValue::Text(value.to_owned());
    let mut sql = SqlBuilder::new(Backend::Postgres);
    sql.push("WITH m AS (");
    match change.kind {
        // Joined on the account, so a group or user of another account is never touched. The
        // rows are locked as the foreign keys would lock them, but before the insert: a group or
        // user deleted meanwhile is no row here (the general path then answers), not an error.
        OneMember::Add => sql
            .push(
                "INSERT INTO group_members (group_id, user_id, account_id, rule_id) \
                 SELECT g.id, u.id, u.account_id, NULL FROM groups g \
                 JOIN users u ON u.account_id = g.account_id WHERE g.account_id = ",
            )
            .bind(text(change.account_id))
            .push(" AND g.id = ")
            .bind(text(change.group_id))
            .push(" AND u.id = ")
            .bind(text(change.user_id))
            .push(" FOR KEY SHARE OF g, u ON CONFLICT DO NOTHING RETURNING group_id"),
        OneMember::Remove => sql
            .push("DELETE FROM group_members WHERE account_id = ")
            .bind(text(change.account_id))
            .push(" AND group_id = ")
            .bind(text(change.group_id))
            .push(" AND user_id = ")
            .bind(text(change.user_id))
            .push(" RETURNING group_id"),
    };
    sql.push("), b AS (UPDATE groups SET version = version + 1, updated_at = ")
        .bind(BindValue::Timestamp(change.now))
        .push(" WHERE account_id = ")
        .bind(text(change.account_id))
        .push(" AND id IN (SELECT group_id FROM m) RETURNING ")
        .push(ROW_COLUMNS)
        .push("), l AS (");
    audit::storage::append_insert_per_row(&mut sql, change.log, "b");
    sql.push(") SELECT ").push(ROW_COLUMNS).push(" FROM b");
    sql
}

/// Deletes the memberships of these users in a group, in batches; returns how many existed.
pub fn delete_members(
    conn: &mut DbConn,
    group_id: &str,
    user_ids: &[String],
) -> QueryResult<usize> {
    let mut deleted = 0;
    for chunk in user_ids.chunks(BATCH) {
        deleted += on_inner!(conn, |c| diesel::delete(
            group_members::table
                .filter(group_members::group_id.eq(group_id))
                .filter(group_members::user_id.eq_any(chunk)),
        )
        .execute(c))?;
    }
    Ok(deleted)
}

/// Moves on the version of every group of `account_id` that `user_id` is a member of (before the
/// user goes, so cached copies of those groups go stale).
pub fn bump_groups_of_member(
    conn: &mut DbConn,
    account_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let member_of = group_members::table
        .filter(group_members::user_id.eq(user_id))
        .select(group_members::group_id);
    diesel::update(
        groups::table
            .filter(groups::account_id.eq(account_id))
            .filter(groups::id.eq_any(member_of)),
    )
    .set((
        groups::version.eq(groups::version + 1),
        groups::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Deletes every membership of `user_id` (the user is going).
pub fn delete_memberships_of(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(group_members::table.filter(group_members::user_id.eq(user_id))).execute(conn)
}

/// The groups whose membership of `user_id` rule `rule_id` made.
pub fn groups_by_rule(conn: &mut DbConn, user_id: &str, rule_id: &str) -> QueryResult<Vec<String>> {
    group_members::table
        .filter(group_members::user_id.eq(user_id))
        .filter(group_members::rule_id.eq(rule_id))
        .select(group_members::group_id)
        .load(conn)
}

/// Turns the memberships rule `rule_id` made into plain memberships (the rule is going).
pub fn forget_rule(conn: &mut DbConn, rule_id: &str) -> QueryResult<usize> {
    diesel::update(group_members::table.filter(group_members::rule_id.eq(rule_id)))
        .set(group_members::rule_id.eq(None::<String>))
        .execute(conn)
}

/// The ids of a group's members (for a full replace, which is O(group size) by nature).
pub fn member_ids(conn: &mut DbConn, group_id: &str) -> QueryResult<Vec<String>> {
    group_members::table
        .filter(group_members::group_id.eq(group_id))
        .select(group_members::user_id)
        .load(conn)
}

/// The members of these groups, by group id, each list ordered by user id.
pub fn load_members(
    conn: &mut DbConn,
    group_ids: &[&String],
) -> QueryResult<HashMap<String, Vec<Member>>> {
    let mut out: HashMap<String, Vec<Member>> = HashMap::new();
    for chunk in group_ids.chunks(BATCH) {
        let rows: Vec<(String, String, Option<String>, String)> = group_members::table
            .inner_join(users::table)
            .filter(group_members::group_id.eq_any(chunk))
            .order((group_members::group_id, group_members::user_id))
            .select((
                group_members::group_id,
                group_members::user_id,
                users::display_name,
                users::user_name,
            ))
            .load(conn)?;
        for (group_id, user_id, display_name, user_name) in rows {
            out.entry(group_id).or_default().push(Member {
                user_id,
                display: display_name.unwrap_or(user_name),
            });
        }
    }
    Ok(out)
}

/// Loads the groups with these ids in `account_id`, in the order of `ids` (missing ones skipped);
/// members only when `include_members`, so that `excludedAttributes=members` reads no member row.
pub fn load(
    conn: &mut DbConn,
    account_id: &str,
    ids: &[String],
    include_members: bool,
) -> QueryResult<Vec<GroupRecord>> {
    let rows = rows_by_ids(conn, account_id, ids)?;
    with_members(conn, rows, include_members)
}

/// The rows of the groups with these ids in `account_id`, in the order of `ids` (missing ones
/// skipped), in one statement.
fn rows_by_ids(conn: &mut DbConn, account_id: &str, ids: &[String]) -> QueryResult<Vec<GroupRow>> {
    // One group by `=` on the backend's own connection: a statement prepared once and cached.
    let rows: Vec<GroupRow> = match ids {
        [] => return Ok(Vec::new()),
        [id] => crate::db::fetch_optional_inner!(
            conn,
            groups::table
                .filter(groups::account_id.eq(account_id))
                .filter(groups::id.eq(id))
                .select(GroupRow::as_select())
        )?
        .into_iter()
        .collect(),
        _ => groups::table
            .filter(groups::account_id.eq(account_id))
            .filter(groups::id.eq_any(ids))
            .select(GroupRow::as_select())
            .load(conn)?,
    };
    let mut by_id: HashMap<String, GroupRow> =
        rows.into_iter().map(|row| (row.id.clone(), row)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Groups from their rows, in the same order: with their members (one statement for all) when
/// `include_members`, so that `excludedAttributes=members` reads no member row.
fn with_members(
    conn: &mut DbConn,
    rows: Vec<GroupRow>,
    include_members: bool,
) -> QueryResult<Vec<GroupRecord>> {
    let mut members = if include_members && !rows.is_empty() {
        let found: Vec<&String> = rows.iter().map(|r| &r.id).collect();
        Some(load_members(conn, &found)?)
    } else {
        None
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let m = members
                .as_mut()
                .map(|all| all.remove(&row.id).unwrap_or_default());
            GroupRecord { row, members: m }
        })
        .collect())
}

/// The select list of a whole `groups` row, for [`Listing::find_records`].
fn group_columns(_: Backend) -> String {
    "groups.*".to_owned()
}

/// How the listing reads group rows: in the page's statement, else by id.
const READER: Reader<GroupRow> = Reader {
    select: group_columns,
    by_ids: rows_by_ids,
};

/// One page of an account's groups, through the generic listing over the Groups attribute table
/// (see [`Listing::find_records`]: a lookup's rows come with its page, in one statement), with
/// their members when `include_members`.
pub fn find_page(
    conn: &mut DbConn,
    registry: &Registry,
    account_id: &str,
    request: &ListRequest,
    include_members: bool,
) -> Result<Found<GroupRecord>, ServiceError> {
    let mut found = Listing {
        registry,
        resource_type: "Group",
        table: &GROUP_ATTRIBUTES,
    }
    .find_records(conn, account_id, request, &READER)?;
    let rows = std::mem::take(&mut found.items);
    Ok(found.with_items(with_members(conn, rows, include_members)?))
}

/// Up to `limit` groups of every account, in id order after `after`: their displayName and its
/// shadow value, for the re-fold of [`crate::refold`] (keyset paging).
pub fn display_name_page(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ShadowRow>> {
    let mut query = groups::table
        .select((
            groups::id,
            groups::account_id,
            groups::display_name,
            groups::display_name_ci,
        ))
        .order(groups::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(groups::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// Group `id`'s displayName and shadow value, read again when an earlier step may have changed it.
pub fn display_name_row(conn: &mut DbConn, id: &str) -> QueryResult<Option<ShadowRow>> {
    groups::table
        .filter(groups::id.eq(id))
        .select((
            groups::id,
            groups::account_id,
            groups::display_name,
            groups::display_name_ci,
        ))
        .load(conn)
        .map(|rows| rows.into_iter().next())
}

/// The group of `account_id` other than `except_id` whose shadow value is `display_name_ci`.
pub fn display_name_holder(
    conn: &mut DbConn,
    account_id: &str,
    display_name_ci: &str,
    except_id: &str,
) -> QueryResult<Option<ShadowRow>> {
    groups::table
        .filter(groups::account_id.eq(account_id))
        .filter(groups::display_name_ci.eq(display_name_ci))
        .filter(groups::id.ne(except_id))
        .select((
            groups::id,
            groups::account_id,
            groups::display_name,
            groups::display_name_ci,
        ))
        .load(conn)
        .map(|rows| rows.into_iter().next())
}

/// Sets group `id`'s displayName shadow value, and nothing else (the representation is unchanged).
pub fn set_display_name_ci(conn: &mut DbConn, id: &str, display_name_ci: &str) -> QueryResult<()> {
    diesel::update(groups::table.filter(groups::id.eq(id)))
        .set(groups::display_name_ci.eq(display_name_ci))
        .execute(conn)?;
    Ok(())
}
