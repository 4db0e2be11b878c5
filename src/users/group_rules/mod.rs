//! Group rules: per account, a rule keeps each user's membership of a typed group in step with one
//! of the user's single-valued text attributes (e.g. enterprise `department` → the group named
//! after the value, with `groupType` "Department", created when first needed). Rules run on every
//! user create and replace, in the same transaction. Memberships a rule made carry its id, so the
//! rule takes them away when the attribute changes and leaves memberships made over SCIM alone.
//! A rule fills only groups of its own type: when the group of that name has another type (a
//! job-title rule meeting the Department group "Sales"), the user is placed nowhere by the rule and
//! the provisioning log gets a warning (`group_rule.type_conflict`).
//!
//! A step of a user write, so it lives under [`crate::users`]: users place themselves in groups
//! (users → groups), never the other way round. It owns the `group_rules` table ([`storage`]);
//! memberships belong to [`crate::groups`], which it asks.

pub mod storage;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use super::UserRecord;
use crate::accounts;
use crate::audit::{self, Event};
use crate::context::{Actor, WriteContext};
use crate::db::attributes::USER_ATTRIBUTES;
use crate::db::filter::{Kind, Store};
use crate::db::models::{GroupMemberRow, GroupRow, GroupRuleRow};
use crate::db::{self, DbConn};
use crate::error::ServiceError;
use crate::groups::{self, storage as group_storage};
use crate::scim::error::InputError;
use crate::scim::path;
use crate::scim::schema::{AttrType, Registry};
use crate::text::{char_len, fold_case};

/// The account's rules, oldest first.
pub fn list(conn: &mut DbConn, account_id: &str) -> QueryResult<Vec<GroupRuleRow>> {
    storage::list(conn, account_id)
}

/// Resolves a rule's attribute against the Users schema: a stored, single-valued text attribute.
/// Returns its canonical path.
pub fn check_attribute(registry: &Registry, attribute: &str) -> Result<String, InputError> {
    let user = registry
        .resource_type("User")
        .expect("the User resource type is served");
    let resolved = path::parse(registry, user, attribute)
        .map_err(|e| InputError::invalid_value(format!("\"attribute\": {}", e.detail)))?;
    let single_text = matches!(
        USER_ATTRIBUTES.store(&resolved.canonical),
        Some(Store::Column {
            kind: Kind::Text,
            ..
        })
    ) && !resolved.def.multi_valued
        && matches!(resolved.def.kind, AttrType::String | AttrType::Reference)
        && resolved.canonical != "id";
    if !single_text {
        return Err(InputError::invalid_value(format!(
            "\"attribute\": {:?} is not a single-valued text attribute of a user; name one such \
             as urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            resolved.canonical
        )));
    }
    Ok(resolved.canonical)
}

/// Creates a rule (409 when the account has the same rule already).
pub fn create(
    conn: &mut DbConn,
    registry: &Registry,
    account_id: &str,
    actor: &Actor,
    attribute: &str,
    group_type: &str,
    now: NaiveDateTime,
) -> Result<GroupRuleRow, ServiceError> {
    let attribute = check_attribute(registry, attribute)?;
    if group_type.trim().is_empty() || char_len(group_type) > groups::MAX_TEXT_LEN {
        return Err(ServiceError::invalid_value(format!(
            "\"groupType\" is required, at most {} characters",
            groups::MAX_TEXT_LEN
        )));
    }
    let row = GroupRuleRow {
        id: crate::context::new_id(),
        account_id: account_id.to_owned(),
        attribute,
        group_type: group_type.to_owned(),
        created_at: now,
    };
    db::write_transaction(conn, |conn| {
        // Marked first: the mark locks the account's row (see `accounts::mark_group_rules`).
        accounts::mark_group_rules(conn, account_id, true)?;
        storage::insert(conn, &row)?;
        audit::record(
            conn,
            account_id,
            actor,
            Event {
                action: "create",
                resource_type: "GroupRule",
                resource_id: Some(&row.id),
                code: "group_rule.created",
                detail: Some(json!({"attribute": row.attribute, "groupType": row.group_type})),
            },
            now,
        )?;
        Ok(())
    })
    .map_err(|e: ServiceError| match &e {
        ServiceError::Database(d) if db::unique_violation(d).is_some() => {
            ServiceError::Uniqueness(format!(
                "the account already has a rule from {:?} to groupType {group_type:?}",
                row.attribute
            ))
        }
        _ => e,
    })?;
    Ok(row)
}

/// Deletes a rule; the memberships it made stay, as plain memberships.
pub fn delete(
    conn: &mut DbConn,
    account_id: &str,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    db::write_transaction(conn, |conn| {
        // The account's row is locked before the rules are counted (`accounts::mark_group_rules`),
        // so a rule another writer creates meanwhile is counted or marks after this.
        accounts::mark_group_rules(conn, account_id, true)?;
        if storage::delete(conn, account_id, id)? == 0 {
            return Err(ServiceError::NotFound("group rule"));
        }
        let remaining = storage::any(conn, account_id)?;
        accounts::mark_group_rules(conn, account_id, remaining)?;
        // Explicit as well as ON DELETE SET NULL, which SQLite honours only with foreign keys on.
        group_storage::forget_rule(conn, id)?;
        audit::record(
            conn,
            account_id,
            actor,
            Event {
                action: "delete",
                resource_type: "GroupRule",
                resource_id: Some(id),
                code: "group_rule.deleted",
                detail: None,
            },
            now,
        )?;
        Ok(())
    })
}

/// The value at a canonical attribute path of a user's representation, if it is text.
fn value_at(user: &Value, canonical: &str) -> Option<String> {
    let (object, path) = match canonical.rsplit_once(':') {
        Some((urn, attr)) if canonical.starts_with("urn:") => (user.get(urn)?, attr),
        _ => (user, canonical),
    };
    let mut at = object;
    for part in path.split('.') {
        at = at.get(part)?;
    }
    at.as_str()
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// The group a rule puts a user with `value` in: the account's group of that name, created (with
/// the rule's groupType) when there is none. A group of that name of another type (or of none) is
/// not the rule's to fill: the user is placed nowhere, with a warning (`group_rule.type_conflict`).
fn group_for(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    rule: &GroupRuleRow,
    user_id: &str,
    value: &str,
) -> Result<Option<GroupRow>, ServiceError> {
    if char_len(value) > groups::MAX_TEXT_LEN {
        return Ok(None);
    }
    let group =
        groups::find_or_create_typed(conn, ctx, value, &rule.group_type, ("ruleId", &rule.id))?;
    let same_type = group
        .group_type
        .as_deref()
        .is_some_and(|t| fold_case(t) == fold_case(&rule.group_type));
    if same_type {
        return Ok(Some(group));
    }
    warn(
        conn,
        ctx,
        user_id,
        "group_rule.type_conflict",
        json!({
            "attribute": rule.attribute,
            "ruleId": rule.id,
            "group": {"id": group.id, "displayName": group.display_name, "groupType": group.group_type},
            "detail": format!(
                "the group rule on {:?} would place the user in the group {:?}, which is not of \
                 groupType {:?}; the user was placed in no group by this rule (rename one of the \
                 groups, or change the rule's groupType)",
                rule.attribute, group.display_name, rule.group_type
            ),
        }),
    )?;
    Ok(None)
}

/// Records a warning about user `user_id` in the provisioning log.
fn warn(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    user_id: &str,
    code: &'static str,
    detail: Value,
) -> Result<(), ServiceError> {
    audit::warn_about_user(conn, ctx, user_id, code, detail)?;
    Ok(())
}

fn log_membership(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group_id: &str,
    change: Value,
) -> Result<(), ServiceError> {
    group_storage::bump(conn, &ctx.account.id, group_id, ctx.now)?;
    audit::record(
        conn,
        &ctx.account.id,
        ctx.actor,
        Event {
            action: "update",
            resource_type: "Group",
            resource_id: Some(group_id),
            code: "group.members_changed_by_rule",
            detail: Some(change),
        },
        ctx.now,
    )?;
    Ok(())
}

/// Applies the account's rules to a user just written (inside the write's transaction); `rec.groups`
/// holds the user's groups before, and is read again only when a rule changed them. Returns whether
/// a rule placed the user in a group.
pub fn apply(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    rec: &mut UserRecord,
) -> Result<bool, ServiceError> {
    // The account's row, read by the request's authentication, says whether there are rules to
    // read: most accounts have none, and their writes skip the statement (issue 25).
    if !ctx.account.has_group_rules {
        return Ok(false);
    }
    let rules = list(conn, &ctx.account.id)?;
    let mut placed = false;
    let mut changed = false;
    if !rules.is_empty() {
        let user =
            serde_json::to_value(super::to_attributes(rec)).expect("user attributes serialise");
        let user_id = rec.row.id.clone();
        for rule in &rules {
            let target = match value_at(&user, &rule.attribute) {
                Some(value) => group_for(conn, ctx, rule, &user_id, &value)?,
                None => None,
            };
            let held = group_storage::groups_by_rule(conn, &user_id, &rule.id)?;
            for group_id in held
                .iter()
                .filter(|g| target.as_ref().is_none_or(|t| t.id != **g))
            {
                changed = true;
                group_storage::delete_members(conn, group_id, std::slice::from_ref(&user_id))?;
                log_membership(
                    conn,
                    ctx,
                    group_id,
                    json!({"members": {"removed": [user_id], "ruleId": rule.id}}),
                )?;
            }
            if let Some(group) = target {
                placed = true;
                let added = group_storage::insert_members(
                    conn,
                    &[GroupMemberRow {
                        group_id: group.id.clone(),
                        user_id: user_id.clone(),
                        account_id: ctx.account.id.clone(),
                        rule_id: Some(rule.id.clone()),
                    }],
                )?;
                if added > 0 {
                    changed = true;
                    log_membership(
                        conn,
                        ctx,
                        &group.id,
                        json!({"members": {"added": [user_id], "ruleId": rule.id}}),
                    )?;
                }
            }
        }
    }
    if changed {
        rec.groups = super::storage::load_groups(conn, std::slice::from_ref(&rec.row.id))?
            .remove(&rec.row.id)
            .unwrap_or_default();
    }
    Ok(placed)
}
