//! The `group_rules` table: an account's rules, read on every user write.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::models::GroupRuleRow;
use crate::db::schema::group_rules;

/// The account's rules, oldest first.
pub fn list(conn: &mut DbConn, account_id: &str) -> QueryResult<Vec<GroupRuleRow>> {
    // On the backend's own connection: every user write runs it (see `db::fetch_optional_inner!`).
    crate::db::on_inner!(conn, |c| group_rules::table
        .filter(group_rules::account_id.eq(account_id))
        .order(group_rules::id)
        .select(GroupRuleRow::as_select())
        .load(c))
}

/// Whether the account has any rule.
pub fn any(conn: &mut DbConn, account_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        group_rules::table.filter(group_rules::account_id.eq(account_id)),
    ))
    .get_result(conn)
}

/// Inserts a rule (a unique-index violation when the account has the same rule).
pub fn insert(conn: &mut DbConn, row: &GroupRuleRow) -> QueryResult<()> {
    diesel::insert_into(group_rules::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Deletes rule `id` of `account_id`; returns how many rows went (0 or 1).
pub fn delete(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        group_rules::table
            .filter(group_rules::account_id.eq(account_id))
            .filter(group_rules::id.eq(id)),
    )
    .execute(conn)
}
