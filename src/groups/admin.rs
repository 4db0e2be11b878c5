//! Groups as the admin API (the CMS) sees and changes them: a paged list searchable by name, each
//! group with its member count and whether an identity provider manages it; create, rename
//! (and retype) and delete of groups no identity provider manages. Writes go through the same
//! functions as SCIM's, so the provisioning log records them and versions move alike (a rename
//! bumps the group's version, and so its members' ETags).

use std::collections::HashMap;

use diesel::prelude::*;

use super::{AttributeChanges, GroupInput, check_display_name, check_group_type, origin, storage};
use crate::context::WriteContext;
use crate::db::models::GroupRow;
use crate::db::schema::{group_members, groups};
use crate::db::sql::like_escape;
use crate::db::{DbConn, FetchOptional};
use crate::error::ServiceError;
use crate::text::{char_len, fold_identity};

/// The longest `search` accepted, in characters.
pub const MAX_SEARCH_LEN: usize = 255;

/// A group with how many members it has.
#[derive(Debug, Clone)]
pub struct GroupSummary {
    /// The group's row.
    pub row: GroupRow,
    /// Its members.
    pub member_count: i64,
}

impl GroupSummary {
    /// Whether an identity provider manages the group (made over SCIM): the admin API leaves it
    /// alone, as its provider would undo any change.
    pub fn managed_by_identity_provider(&self) -> bool {
        self.row.origin == origin::SCIM
    }
}

/// What the admin API's list asks for.
#[derive(Debug, Clone, Default)]
pub struct GroupQuery {
    /// Part of the displayName, compared identity-folded (case, width, ligatures).
    pub search: Option<String>,
    /// Rows skipped.
    pub offset: i64,
    /// Rows shown at most.
    pub limit: i64,
}

/// A `search` term, checked and folded: `None` for a blank one.
pub(crate) fn search_term(search: Option<&str>) -> Result<Option<String>, ServiceError> {
    let Some(term) = search.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if char_len(term) > MAX_SEARCH_LEN {
        return Err(ServiceError::invalid_value(format!(
            "\"search\" has {} characters; at most {MAX_SEARCH_LEN} are accepted",
            char_len(term)
        )));
    }
    Ok(Some(term.to_owned()))
}

fn member_counts(conn: &mut DbConn, ids: &[&String]) -> QueryResult<HashMap<String, i64>> {
    Ok(group_members::table
        .filter(group_members::group_id.eq_any(ids))
        .group_by(group_members::group_id)
        .select((group_members::group_id, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}

fn summaries(conn: &mut DbConn, rows: Vec<GroupRow>) -> QueryResult<Vec<GroupSummary>> {
    let ids: Vec<&String> = rows.iter().map(|r| &r.id).collect();
    let counts = member_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| GroupSummary {
            member_count: counts.get(&row.id).copied().unwrap_or(0),
            row,
        })
        .collect())
}

/// A page of the account's groups by name (identity-folded), each with its member count (one
/// grouped query for the page), and how many match in all.
pub fn list(
    conn: &mut DbConn,
    account_id: &str,
    query: &GroupQuery,
) -> Result<(i64, Vec<GroupSummary>), ServiceError> {
    let search = search_term(query.search.as_deref())?;
    let matching = || {
        let mut q = groups::table
            .filter(groups::account_id.eq(account_id.to_owned()))
            .into_boxed();
        if let Some(term) = &search {
            let pattern = format!("%{}%", like_escape(&fold_identity(term)));
            q = q.filter(groups::display_name_ci.like(pattern).escape('\\'));
        }
        q
    };
    let total = matching().count().get_result(conn)?;
    let rows: Vec<GroupRow> = matching()
        .order((groups::display_name_ci, groups::id))
        .offset(query.offset)
        .limit(query.limit)
        .select(GroupRow::as_select())
        .load(conn)?;
    Ok((total, summaries(conn, rows)?))
}

/// The account's group `id`, with its member count.
pub fn summary(
    conn: &mut DbConn,
    account_id: &str,
    id: &str,
) -> Result<GroupSummary, ServiceError> {
    let row = groups::table
        .filter(groups::account_id.eq(account_id))
        .filter(groups::id.eq(id))
        .select(GroupRow::as_select())
        .fetch_optional(conn)?
        .ok_or(ServiceError::NotFound("group"))?;
    Ok(summaries(conn, vec![row])?.remove(0))
}

/// A group the admin API creates.
#[derive(Debug, Clone)]
pub struct NewGroup {
    /// Its name (unique in the account, identity-folded).
    pub display_name: String,
    /// Its segment (Department, Region…), if any.
    pub group_type: Option<String>,
}

/// Creates a group no identity provider manages (no members, no externalId); 409 when its name is
/// taken. Recorded in the provisioning log like a SCIM create.
pub fn create(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    new: &NewGroup,
) -> Result<GroupSummary, ServiceError> {
    check_display_name(&new.display_name)?;
    check_group_type(new.group_type.as_deref())?;
    let input = GroupInput {
        display_name: new.display_name.clone(),
        external_id: None,
        group_type: new.group_type.clone(),
        members: Vec::new(),
    };
    let rec = super::create_from(conn, ctx, &input, origin::ADMIN)?;
    Ok(GroupSummary {
        row: rec.row,
        member_count: 0,
    })
}

/// Refuses a change to a group its identity provider manages.
fn unmanaged(conn: &mut DbConn, ctx: &WriteContext<'_>, id: &str) -> Result<(), ServiceError> {
    let row = storage::row(conn, &ctx.account.id, id)?.ok_or(ServiceError::NotFound("group"))?;
    if row.origin == origin::SCIM {
        return Err(ServiceError::conflict(format!(
            "the group {:?} was made over SCIM: its identity provider manages it and would undo \
             this change; change it in the identity provider instead",
            row.display_name
        )));
    }
    Ok(())
}

/// Renames and/or retypes a group no identity provider manages (409 for one it manages, or for a
/// taken name). A change bumps the group's version, so its members' ETags move.
pub fn edit(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
    changes: &AttributeChanges,
) -> Result<GroupSummary, ServiceError> {
    unmanaged(conn, ctx, id)?;
    super::set_attributes(conn, ctx, id, changes)?;
    summary(conn, &ctx.account.id, id)
}

/// Deletes a group no identity provider manages (409 for one it manages); its users stay.
pub fn delete(conn: &mut DbConn, ctx: &WriteContext<'_>, id: &str) -> Result<(), ServiceError> {
    unmanaged(conn, ctx, id)?;
    super::delete(conn, ctx, id, &crate::scim::etag::Precondition::None)
}
