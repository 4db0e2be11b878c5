//! PATCH on Groups: the shared PATCH engine ([`crate::scim::patch`]) for the group's own attributes,
//! and membership operations translated into O(change) calls ([`super::add_members`],
//! [`super::remove_members`], [`super::replace_members`]), never a load of the member list to edit
//! it. Every shape of `CLIENTS.md` is handled: Entra's `Add`/`Remove` of `members` with a value list
//! (remove only those), Okta's remove by filter (`members[value eq "…"]`) plus add, a replace of the
//! whole list, and a rename sent with every membership change that carries the group's own `id`. All
//! operations of a request apply in one transaction, in order.

use scim_v2::filter::{AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value, json};

use super::storage::{self, OneMember};
use super::{AttributeChanges, parse_members};
use crate::context::WriteContext;
use crate::db::models::GroupRow;
use crate::db::{self, DbConn};
use crate::error::ServiceError;
use crate::scim::dialect::Rewrite;
use crate::scim::error::{InputError, ScimType};
use crate::scim::etag::{Precondition, etag};
use crate::scim::patch::{self, OpKind, Operation};
use crate::scim::urn;

fn targets_members(op: &Operation) -> bool {
    let attr = match &op.path {
        PatchPath::Attr(a) => a,
        PatchPath::Value(vp) => &vp.attr,
    };
    attr.name.eq_ignore_ascii_case("members")
        && attr
            .uri
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(urn::GROUP))
        && attr.sub_attr.is_none()
}

/// The member ids a removal filter names: `value eq "id"`, possibly `or`-ed.
fn ids_in_filter(filter: &ValFilter, out: &mut Vec<String>) -> bool {
    match filter {
        ValFilter::Or(ops) => ops.as_slice().iter().all(|f| ids_in_filter(f, out)),
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(id)))
            if path.name.eq_ignore_ascii_case("value") && path.sub_attr.is_none() =>
        {
            out.push(id.clone());
            true
        }
        _ => false,
    }
}

/// A PATCH that is one membership change and nothing else: one operation adding or removing one
/// member, which [`super::change_one_member_alone`] may make on its own.
struct OneMemberPatch {
    change: OneMember,
    user_id: String,
    /// The dialect rewrite the operation's shape is, for the answer.
    rewrite: Option<Rewrite>,
}

/// The one membership change `operations` make, if that is all they do: `Add` of `members` with
/// one value, `Remove` of `members` with one value (Entra), or of `members[value eq "…"]` (Okta).
/// Anything else, a malformed value included, is the general path's (which explains).
fn one_member_patch(operations: &[Operation], max: usize) -> Option<OneMemberPatch> {
    let [op] = operations else { return None };
    if !targets_members(op) {
        return None;
    }
    let (change, ids, rewrite) = match (op.kind, &op.path, &op.value) {
        (OpKind::Add, PatchPath::Attr(_), Some(value)) => {
            (OneMember::Add, parse_members(value, max).ok()?, None)
        }
        (OpKind::Remove, PatchPath::Attr(_), Some(value)) if !value.is_null() => (
            OneMember::Remove,
            parse_members(value, max).ok()?,
            Some(Rewrite::RemoveWithValue),
        ),
        (OpKind::Remove, PatchPath::Value(vp), _) if vp.sub_attr.is_none() => {
            let mut ids = Vec::new();
            ids_in_filter(&vp.filter, &mut ids).then_some(())?;
            (OneMember::Remove, ids, None)
        }
        _ => return None,
    };
    let [user_id] = <[String; 1]>::try_from(ids).ok()?;
    Some(OneMemberPatch {
        change,
        user_id,
        rewrite,
    })
}

/// Applies a PatchOp body to group `id`, under one lock of its row (one membership change alone,
/// without `If-Match`, is first tried in one statement, see [`one_member_patch`]). Returns the group's row as
/// written (its version moved on if anything changed: the answer's `ETag` needs no re-read) and
/// the dialect rewrites applied.
pub fn patch(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
    body: &Value,
    precondition: &Precondition,
) -> Result<(GroupRow, Vec<Rewrite>), ServiceError> {
    let resource_type = ctx
        .registry
        .resource_type("Group")
        .expect("the Group resource type is served");
    let mut rewrites = Vec::new();
    let operations = patch::normalize(ctx.registry, resource_type, body, &mut rewrites)?;
    // The common shape first, in one statement; when it changed nothing, the general path below
    // finds out why and answers as it always has.
    if *precondition == Precondition::None
        && let Some(one) = one_member_patch(&operations, ctx.registry.limits().members)
        && let Some(row) = super::change_one_member_alone(conn, ctx, id, one.change, &one.user_id)?
    {
        rewrites.extend(one.rewrite);
        return Ok((row, rewrites));
    }
    let row = db::write_transaction(conn, |conn| {
        let mut row =
            storage::lock(conn, &ctx.account.id, id)?.ok_or(ServiceError::NotFound("group"))?;
        if !precondition.holds(row.version) {
            return Err(ServiceError::PreconditionFailed(format!(
                "the group has changed: its version is {}, not the one in If-Match; read it again",
                etag(row.version)
            )));
        }
        let mut doc = Map::new();
        doc.insert("id".into(), json!(row.id));
        doc.insert("displayName".into(), json!(row.display_name));
        if let Some(e) = &row.external_id {
            doc.insert("externalId".into(), json!(e));
        }
        if let Some(t) = &row.group_type {
            doc.insert(urn::MOBIETRAIN_GROUP.into(), json!({"groupType": t}));
        }
        let original = doc.clone();
        let max = ctx.registry.limits().members;
        let members = |value: &Value| parse_members(value, max);
        for op in &operations {
            if !targets_members(op) {
                doc = patch::apply(
                    ctx.registry,
                    resource_type,
                    &doc,
                    std::slice::from_ref(op),
                    &mut rewrites,
                )?;
                continue;
            }
            match (op.kind, &op.path, &op.value) {
                (OpKind::Add, PatchPath::Attr(_), Some(value)) => {
                    row = super::add_to_locked(conn, ctx, row, &members(value)?)?.group;
                }
                (OpKind::Replace, PatchPath::Attr(_), value) => {
                    let ids = value.as_ref().map(members).transpose()?.unwrap_or_default();
                    row = super::replace_in_locked(conn, ctx, row, &ids)?.group;
                }
                (OpKind::Remove, PatchPath::Attr(_), Some(value)) if !value.is_null() => {
                    rewrites.push(Rewrite::RemoveWithValue);
                    row = super::remove_from_locked(conn, ctx, row, &members(value)?)?.group;
                }
                (OpKind::Remove, PatchPath::Attr(_), _) => {
                    row = super::replace_in_locked(conn, ctx, row, &[])?.group;
                }
                (OpKind::Remove, PatchPath::Value(vp), _) if vp.sub_attr.is_none() => {
                    let mut ids = Vec::new();
                    if !ids_in_filter(&vp.filter, &mut ids) {
                        return Err(InputError {
                            scim_type: ScimType::InvalidPath,
                            detail: format!(
                                "remove members by id: {:?} should read members[value eq \"<user id>\"]",
                                op.shown
                            ),
                        }
                        .into());
                    }
                    row = super::remove_from_locked(conn, ctx, row, &ids)?.group;
                }
                _ => {
                    return Err(InputError {
                        scim_type: ScimType::InvalidPath,
                        detail: format!(
                            "{:?} cannot be applied to members: add or replace a list of {{\"value\": id}}, \
                             or remove members[value eq \"id\"]",
                            op.shown
                        ),
                    }
                    .into());
                }
            }
        }
        if doc != original {
            let text = |d: &Map<String, Value>, k: &str| {
                d.get(k).and_then(Value::as_str).map(str::to_owned)
            };
            let group_type = |d: &Map<String, Value>| {
                d.get(urn::MOBIETRAIN_GROUP)
                    .and_then(|e| e.get("groupType"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let display_name = text(&doc, "displayName").ok_or_else(|| {
                ServiceError::invalid_value(
                    "\"displayName\" is required: a group cannot lose its name",
                )
            })?;
            let changes = AttributeChanges {
                display_name: (Some(display_name.clone()) != text(&original, "displayName"))
                    .then_some(display_name),
                external_id: (text(&doc, "externalId") != text(&original, "externalId"))
                    .then(|| text(&doc, "externalId")),
                group_type: (group_type(&doc) != group_type(&original)).then(|| group_type(&doc)),
            };
            row = super::set_attributes(conn, ctx, id, &changes)?.group;
        }
        Ok(row)
    })?;
    Ok((row, rewrites))
}
