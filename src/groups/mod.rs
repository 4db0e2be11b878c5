//! SCIM Groups: create, read, replace, delete and list, and the membership operations the PATCH
//! engine calls (`add_members`, `remove_members`, `replace_members`, `set_attributes`). Members are
//! users of the same account; membership changes cost O(change); every write bumps the group's
//! version and reaches the provisioning log, inside one transaction.

pub mod admin;
pub mod patch;
pub mod storage;

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use crate::audit::{self, Event};
use crate::context::WriteContext;
use crate::db::models::{GroupMemberRow, GroupRow};
use crate::db::{self, DbConn};
use crate::error::ServiceError;
use crate::scim::error::InputError;
use crate::scim::etag::{Precondition, etag};
use crate::scim::list::{ListRequest, Listed};
use crate::scim::resource::canonicalize;
use crate::scim::schema::Registry;
use crate::scim::urn;
use crate::text::{Lines, char_len, fold_identity, identity_shadow};
pub use storage::{GroupRecord, Member};

/// Who made a group (`groups.origin`). Only a group made over SCIM is its identity provider's: the
/// admin API neither renames nor deletes it, as the provider would undo the change.
pub mod origin {
    /// Made over SCIM: its identity provider manages it.
    pub const SCIM: &str = "scim";
    /// Made through the admin API.
    pub const ADMIN: &str = "admin";
    /// Made by a group rule.
    pub const RULE: &str = "rule";
    /// Made for a CrewPlanner department.
    pub const CREWPLANNER: &str = "crewplanner";
}

/// The longest displayName and groupType, in characters (the seed's "free text, max. 255").
pub const MAX_TEXT_LEN: usize = 255;

/// How many member ids the provisioning log lists per change (the counts are always complete).
const LOGGED_IDS: usize = 100;

/// A group as a client writes it (POST, PUT).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupInput {
    /// `displayName` (required).
    pub display_name: String,
    /// `externalId`, the seed's "User group ID".
    pub external_id: Option<String>,
    /// The MobieTrain extension's `groupType`.
    pub group_type: Option<String>,
    /// The member ids, as sent, without repeats.
    pub members: Vec<String>,
}

/// Changes to a group's single-valued attributes: `None` leaves one as it is; for the optional
/// ones `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttributeChanges {
    /// A new displayName.
    pub display_name: Option<String>,
    /// A new externalId, or `Some(None)` to clear it.
    pub external_id: Option<Option<String>>,
    /// A new groupType, or `Some(None)` to clear it.
    pub group_type: Option<Option<String>>,
}

/// What a membership or attribute change did.
#[derive(Debug, Clone)]
pub struct Change {
    /// The group's row after the change (its version bumped if anything changed).
    pub group: GroupRow,
    /// Memberships that did not exist before.
    pub added: usize,
    /// Memberships that existed and are gone.
    pub removed: usize,
}

/// A group's text is single-line free text, under the same character rule as a user's
/// ([`crate::text::forbidden_char`]): no control characters.
fn check_single_line(path: &str, value: Option<&str>) -> Result<(), InputError> {
    match value.and_then(|v| crate::text::forbidden_char_detail(path, v, Lines::Single)) {
        Some(detail) => Err(InputError::invalid_value(detail)),
        None => Ok(()),
    }
}

fn check_display_name(value: &str) -> Result<(), InputError> {
    if value.trim().is_empty() {
        return Err(InputError::invalid_value(
            "\"displayName\" is required: the group's name",
        ));
    }
    if char_len(value) > MAX_TEXT_LEN {
        return Err(InputError::invalid_value(format!(
            "\"displayName\" has {} characters; at most {MAX_TEXT_LEN} are accepted",
            char_len(value)
        )));
    }
    check_single_line("displayName", Some(value))
}

fn check_group_type(value: Option<&str>) -> Result<(), InputError> {
    let path = format!("{}:groupType", urn::MOBIETRAIN_GROUP);
    match value {
        Some(v) if char_len(v) > MAX_TEXT_LEN => Err(InputError::invalid_value(format!(
            "\"{path}\" has {} characters; at most {MAX_TEXT_LEN} are accepted",
            char_len(v)
        ))),
        _ => check_single_line(&path, value),
    }
}

/// `externalId` has no length rule of its own here (groups never had one), only the character rule.
fn check_external_id(value: Option<&str>) -> Result<(), InputError> {
    check_single_line("externalId", value)
}

/// Reads the `members` of a request body: a list of `{"value": id}` objects (a lone object is
/// accepted); `type`, when sent, must be `User`. Ids come back without repeats, in order. More
/// than `max` references are refused before any is read.
pub fn parse_members(value: &Value, max: usize) -> Result<Vec<String>, InputError> {
    let items: Vec<&Value> = match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    if items.len() > max {
        return Err(InputError::invalid_value(format!(
            "\"members\" lists {} members; at most {max} are accepted in one request (split the change into several PATCH requests)",
            items.len()
        )));
    }
    let mut seen = HashSet::with_capacity(items.len());
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(fields) = item else {
            return Err(InputError::invalid_value(format!(
                "\"members[{i}]\" must be a JSON object such as {{\"value\": \"<user id>\"}}"
            )));
        };
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        if let Some(kind) = field("type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("User")
        {
            return Err(InputError::invalid_value(format!(
                "\"members[{i}].type\" is {kind:?}: only users can be members of a group"
            )));
        }
        let id = match field("value") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => {
                return Err(InputError::invalid_value(format!(
                    "\"members[{i}].value\" is required: the id of a user"
                )));
            }
        };
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Reads a request body as a group. `members` is read apart from the schema-driven
/// canonicalisation, which bounds multi-valued attributes far below a large group's size.
pub fn parse_input(registry: &Registry, body: &Value) -> Result<GroupInput, InputError> {
    let Value::Object(fields) = body else {
        return Err(InputError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let mut rest = Map::new();
    let mut members = Vec::new();
    for (k, v) in fields {
        if k.eq_ignore_ascii_case("members")
            || k.eq_ignore_ascii_case(&format!("{}:members", urn::GROUP))
        {
            members = parse_members(v, registry.limits().members)?;
        } else {
            rest.insert(k.clone(), v.clone());
        }
    }
    let resource_type = registry
        .resource_type("Group")
        .expect("the Group resource type is served");
    let canonical = canonicalize(registry, resource_type, &Value::Object(rest))?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let display_name = text(canonical.get("displayName")).unwrap_or_default();
    check_display_name(&display_name)?;
    let group_type = text(
        canonical
            .get(urn::MOBIETRAIN_GROUP)
            .and_then(|e| e.get("groupType")),
    );
    check_group_type(group_type.as_deref())?;
    let external_id = text(canonical.get("externalId"));
    check_external_id(external_id.as_deref())?;
    Ok(GroupInput {
        display_name,
        external_id,
        group_type,
        members,
    })
}

/// The SCIM representation of a stored group; `base_url` is the SCIM base (`…/scim/v2`). Members
/// appear when they were loaded (as `[]` for an empty group), and not at all otherwise.
pub fn to_resource(rec: &GroupRecord, base_url: &str) -> Value {
    let r = &rec.row;
    let mut schemas = vec![urn::GROUP];
    if r.group_type.is_some() {
        schemas.push(urn::MOBIETRAIN_GROUP);
    }
    let mut out = Map::new();
    out.insert("schemas".into(), json!(schemas));
    out.insert("id".into(), json!(r.id));
    if let Some(external_id) = &r.external_id {
        out.insert("externalId".into(), json!(external_id));
    }
    out.insert("displayName".into(), json!(r.display_name));
    if let Some(members) = &rec.members {
        let members: Vec<Value> = members
            .iter()
            .map(|m| {
                json!({
                    "value": m.user_id,
                    "$ref": format!("{base_url}/Users/{}", m.user_id),
                    "display": m.display,
                    "type": "User",
                })
            })
            .collect();
        out.insert("members".into(), Value::Array(members));
    }
    if let Some(group_type) = &r.group_type {
        out.insert(
            urn::MOBIETRAIN_GROUP.into(),
            json!({ "groupType": group_type }),
        );
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": crate::clock::rfc3339(r.created_at),
            "lastModified": crate::clock::rfc3339(r.updated_at),
            "location": format!("{base_url}/Groups/{}", r.id),
            "version": etag(r.version),
        }),
    );
    Value::Object(out)
}

/// The attributes of a group row, for provisioning-log diffs.
fn snapshot(row: &GroupRow) -> Value {
    let mut out = Map::new();
    out.insert("displayName".into(), json!(row.display_name));
    if let Some(e) = &row.external_id {
        out.insert("externalId".into(), json!(e));
    }
    if let Some(t) = &row.group_type {
        out.insert(urn::MOBIETRAIN_GROUP.into(), json!({ "groupType": t }));
    }
    Value::Object(out)
}

fn members_detail(added: &[String], added_n: usize, removed: &[String], removed_n: usize) -> Value {
    let listed = |ids: &[String]| ids.iter().take(LOGGED_IDS).cloned().collect::<Vec<_>>();
    json!({ "members": {
        "added": listed(added), "addedCount": added_n,
        "removed": listed(removed), "removedCount": removed_n,
    }})
}

/// Turns a unique-index violation into the 409 that names the attribute.
fn uniqueness(err: ServiceError, display_name: &str, external_id: Option<&str>) -> ServiceError {
    let ServiceError::Database(db_err) = &err else {
        return err;
    };
    let Some(constraint) = db::unique_violation(db_err) else {
        return err;
    };
    if constraint.contains("display_name") {
        ServiceError::Uniqueness(format!(
            "displayName {display_name:?} is already used by another group in this account \
             (compared ignoring case, width, ligatures and invisible characters)"
        ))
    } else if constraint.contains("external_id") {
        ServiceError::Uniqueness(format!(
            "externalId {:?} is already used by another group in this account",
            external_id.unwrap_or_default()
        ))
    } else {
        err
    }
}

/// Refuses member ids that are not users of the account, naming the first one (a group, or an
/// id unknown here: unknown and other accounts' ids are not told apart). Batched queries.
fn check_members(conn: &mut DbConn, account_id: &str, ids: &[String]) -> Result<(), ServiceError> {
    let found = storage::existing_users(conn, account_id, ids)?;
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !found.contains(*id))
        .cloned()
        .collect();
    let Some(first) = missing.first() else {
        return Ok(());
    };
    let groups = storage::existing_groups(conn, account_id, &missing)?;
    let more = match missing.len() {
        1 => String::new(),
        n => format!(" ({} member ids in all are not users of this account)", n),
    };
    let why = if groups.contains(first) {
        "is a group, and only users can be members of a group"
    } else {
        "is not the id of a user in this account"
    };
    Err(ServiceError::invalid_value(format!(
        "\"members\": {first:?} {why}{more}; nothing was changed"
    )))
}

fn member_rows(ctx: &WriteContext<'_>, group_id: &str, ids: &[String]) -> Vec<GroupMemberRow> {
    ids.iter()
        .map(|u| GroupMemberRow {
            group_id: group_id.to_owned(),
            user_id: u.clone(),
            account_id: ctx.account.id.clone(),
            rule_id: None,
        })
        .collect()
}

fn record(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    action: &str,
    id: &str,
    code: &str,
    detail: Option<Value>,
) -> Result<(), ServiceError> {
    audit::record_write(
        conn,
        ctx,
        Event {
            action,
            resource_type: "Group",
            resource_id: Some(id),
            code,
            detail,
        },
    )?;
    Ok(())
}

/// Creates a group from a SCIM body, with its members.
pub fn create(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    body: &Value,
) -> Result<GroupRecord, ServiceError> {
    let input = parse_input(ctx.registry, body)?;
    create_from(conn, ctx, &input, origin::SCIM)
}

/// Creates a group from a checked input, with its members, as made by `made_by` (an [`origin`]).
fn create_from(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    input: &GroupInput,
    made_by: &str,
) -> Result<GroupRecord, ServiceError> {
    let row = GroupRow {
        id: crate::context::new_id(),
        account_id: ctx.account.id.clone(),
        display_name_ci: fold_identity(&input.display_name),
        display_name: input.display_name.clone(),
        external_id: input.external_id.clone(),
        group_type: input.group_type.clone(),
        version: 1,
        created_at: ctx.now,
        updated_at: ctx.now,
        origin: made_by.to_owned(),
    };
    db::write_transaction(conn, |conn| {
        check_members(conn, &ctx.account.id, &input.members)?;
        storage::insert(conn, &row)?;
        let added = storage::insert_members(conn, &member_rows(ctx, &row.id, &input.members))?;
        let mut detail = audit::diff(None, Some(&snapshot(&row))).unwrap_or_else(|| json!({}));
        if let (Value::Object(d), Value::Object(m)) =
            (&mut detail, members_detail(&input.members, added, &[], 0))
        {
            d.extend(m);
        }
        record(conn, ctx, "create", &row.id, "group.created", Some(detail))?;
        // The user group ID links a group to an identity provider's; a group made here has none.
        if row.external_id.is_none() && made_by == origin::SCIM {
            record(
                conn,
                ctx,
                "warn",
                &row.id,
                "group.external_id_missing",
                Some(json!({
                    "attribute": "externalId",
                    "detail": "the group has no externalId (the user group ID); it is strongly \
                               advised in an SSO integration, so users stay linked when the group \
                               is renamed"
                })),
            )?;
        }
        Ok(())
    })
    .map_err(|e| uniqueness(e, &input.display_name, input.external_id.as_deref()))?;
    let members = storage::load_members(conn, &[&row.id])?
        .remove(&row.id)
        .unwrap_or_default();
    Ok(GroupRecord {
        row,
        members: Some(members),
    })
}

/// Replaces a group with the body of a PUT, members included: attributes not sent are cleared and
/// members not listed are removed. Never creates.
pub fn replace(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
    body: &Value,
    precondition: &Precondition,
) -> Result<GroupRecord, ServiceError> {
    let input = parse_input(ctx.registry, body)?;
    let changes = AttributeChanges {
        display_name: Some(input.display_name.clone()),
        external_id: Some(input.external_id.clone()),
        group_type: Some(input.group_type.clone()),
    };
    db::write_transaction(conn, |conn| {
        let before = check_precondition(conn, ctx, id, precondition)?;
        let after = changed_row(&before, &changes);
        check_members(conn, &ctx.account.id, &input.members)?;
        let synced = sync_members(conn, ctx, id, &input.members)?;
        let attributes = audit::diff(Some(&snapshot(&before)), Some(&snapshot(&after)));
        if attributes.is_none() && synced.added + synced.removed == 0 {
            return Ok(());
        }
        let mut detail = attributes.unwrap_or_else(|| json!({}));
        if let (Value::Object(d), Value::Object(m)) = (&mut detail, synced.detail()) {
            d.extend(m);
        }
        storage::update(
            conn,
            &GroupRow {
                version: before.version + 1,
                updated_at: ctx.now,
                ..after
            },
        )?;
        record(conn, ctx, "replace", id, "group.replaced", Some(detail))
    })
    .map_err(|e| uniqueness(e, &input.display_name, input.external_id.as_deref()))?;
    get(conn, &ctx.account.id, id, true)
}

/// Deletes a group and its memberships; its users stay.
pub fn delete(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
    precondition: &Precondition,
) -> Result<(), ServiceError> {
    db::write_transaction(conn, |conn| {
        if *precondition != Precondition::None {
            check_precondition(conn, ctx, id, precondition)?;
        }
        if storage::delete(conn, &ctx.account.id, id)? == 0 {
            return Err(ServiceError::NotFound("group"));
        }
        record(conn, ctx, "delete", id, "group.deleted", None)
    })
}

/// The group `id` of `account_id`; its members only when `include_members` (otherwise no member
/// row is read).
pub fn get(
    conn: &mut DbConn,
    account_id: &str,
    id: &str,
    include_members: bool,
) -> Result<GroupRecord, ServiceError> {
    storage::load(conn, account_id, &[id.to_owned()], include_members)?
        .pop()
        .ok_or(ServiceError::NotFound("group"))
}

/// One page of an account's groups matching the request, how many match in all, and the dialect
/// rewrites the filter needed; members only when `include_members`.
pub fn list(
    conn: &mut DbConn,
    registry: &Registry,
    account_id: &str,
    request: &ListRequest,
    include_members: bool,
) -> Result<Listed<GroupRecord>, ServiceError> {
    let found = storage::find_page(conn, registry, account_id, request, include_members)?;
    Ok(Listed {
        total: found.total as u64,
        records: found.items,
        rewrites: found.rewrites,
        next: found.next,
        previous: found.previous,
    })
}

/// Locks the group and checks the client's `If-Match` against its version.
pub fn check_precondition(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
    precondition: &Precondition,
) -> Result<GroupRow, ServiceError> {
    let row = locked_row(conn, ctx, id)?;
    if !precondition.holds(row.version) {
        return Err(ServiceError::PreconditionFailed(format!(
            "the group has changed: its version is {}, not the one in If-Match; read it again",
            etag(row.version)
        )));
    }
    Ok(row)
}

fn locked_row(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group_id: &str,
) -> Result<GroupRow, ServiceError> {
    storage::lock(conn, &ctx.account.id, group_id)?.ok_or(ServiceError::NotFound("group"))
}

fn finish_membership_change(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group: GroupRow,
    (added_ids, added): (&[String], usize),
    (removed_ids, removed): (&[String], usize),
) -> Result<Change, ServiceError> {
    if added + removed == 0 {
        return Ok(Change {
            group,
            added,
            removed,
        });
    }
    storage::bump(conn, &ctx.account.id, &group.id, ctx.now)?;
    audit::record_write(
        conn,
        ctx,
        members_changed(&group.id, (added_ids, added), (removed_ids, removed)),
    )?;
    let group = GroupRow {
        version: group.version + 1,
        updated_at: ctx.now,
        ..group
    };
    Ok(Change {
        group,
        added,
        removed,
    })
}

/// The provisioning-log event of a membership change of group `group_id`.
fn members_changed<'a>(
    group_id: &'a str,
    (added_ids, added): (&[String], usize),
    (removed_ids, removed): (&[String], usize),
) -> Event<'a> {
    Event {
        action: "update",
        resource_type: "Group",
        resource_id: Some(group_id),
        code: "group.members_changed",
        detail: Some(members_detail(added_ids, added, removed_ids, removed)),
    }
}

/// Makes one membership change that is the whole of a write (a PATCH adding or removing one member,
/// without `If-Match`), on PostgreSQL in one statement ([`storage::change_one_member`]), logged as
/// the general path logs it. Returns the group's row as written, or `None` when nothing changed,
/// for whatever reason: the caller then runs the general path, which answers (404, 400 naming the
/// id, or a no-op).
pub fn change_one_member_alone(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group_id: &str,
    kind: storage::OneMember,
    user_id: &str,
) -> Result<Option<GroupRow>, ServiceError> {
    let ids = [user_id.to_owned()];
    let (added, removed): (&[String], &[String]) = match kind {
        storage::OneMember::Add => (&ids, &[]),
        storage::OneMember::Remove => (&[], &ids),
    };
    let event = members_changed(group_id, (added, added.len()), (removed, removed.len()));
    let log = audit::event_row(&ctx.account.id, ctx.actor, event, ctx.now);
    let change = storage::MemberChange {
        kind,
        account_id: &ctx.account.id,
        group_id,
        user_id,
        now: ctx.now,
        log: &log,
    };
    Ok(storage::change_one_member(conn, &change)?)
}

/// The account's group named `name` (compared by [`fold_identity`]), created with `group_type` when
/// there is none; `made_by` (a key and value, e.g. `("ruleId", id)`) goes into the provisioning-log
/// entry of a creation, and says the group's [`origin`] (a rule's `ruleId`, else CrewPlanner). Two writers creating the same group at once end with one group.
pub fn find_or_create_typed(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    name: &str,
    group_type: &str,
    made_by: (&str, &str),
) -> Result<GroupRow, ServiceError> {
    let name_ci = fold_identity(name);
    if let Some(found) = storage::by_name(conn, &ctx.account.id, &name_ci)? {
        return Ok(found);
    }
    let row = GroupRow {
        id: crate::context::new_id(),
        account_id: ctx.account.id.clone(),
        display_name: name.to_owned(),
        display_name_ci: name_ci.clone(),
        external_id: None,
        group_type: Some(group_type.to_owned()),
        version: 1,
        created_at: ctx.now,
        updated_at: ctx.now,
        origin: match made_by {
            ("ruleId", _) => origin::RULE,
            _ => origin::CREWPLANNER,
        }
        .to_owned(),
    };
    if storage::insert_if_absent(conn, &row)? {
        let mut detail = json!({"displayName": row.display_name, "groupType": row.group_type});
        detail[made_by.0] = json!(made_by.1);
        audit::record(
            conn,
            &ctx.account.id,
            ctx.actor,
            Event {
                action: "create",
                resource_type: "Group",
                resource_id: Some(&row.id),
                code: "group.created",
                detail: Some(detail),
            },
            ctx.now,
        )?;
        return Ok(row);
    }
    storage::by_name(conn, &ctx.account.id, &name_ci)?.ok_or(ServiceError::NotFound("group"))
}

/// Adds users to a group: O(number added), whatever the group's size. Every id must be a user of
/// the account (else 400 naming it, nothing written); existing members are a harmless no-op.
pub fn add_members(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group_id: &str,
    user_ids: &[String],
) -> Result<Change, ServiceError> {
    db::write_transaction(conn, |conn| {
        let group = locked_row(conn, ctx, group_id)?;
        add_to_locked(conn, ctx, group, user_ids)
    })
}

/// [`add_members`] to a group whose row the caller's transaction has locked (a PATCH of several
/// operations locks it once).
fn add_to_locked(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group: GroupRow,
    user_ids: &[String],
) -> Result<Change, ServiceError> {
    let added = match user_ids {
        // One member (what Entra sends): inserted only if a user of the account, in one
        // statement; the ids are checked only when nothing was inserted (a member already, or
        // no user: then 400, and the caller's transaction undoes nothing written).
        [one] => {
            let added = storage::insert_member_if_user(conn, &ctx.account.id, &group.id, one)?;
            if added == 0 {
                check_members(conn, &ctx.account.id, user_ids)?;
            }
            added
        }
        _ => {
            check_members(conn, &ctx.account.id, user_ids)?;
            storage::insert_members(conn, &member_rows(ctx, &group.id, user_ids))?
        }
    };
    finish_membership_change(conn, ctx, group, (user_ids, added), (&[], 0))
}

/// Removes users from a group: O(number removed). Ids that are not members are a harmless no-op.
pub fn remove_members(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group_id: &str,
    user_ids: &[String],
) -> Result<Change, ServiceError> {
    db::write_transaction(conn, |conn| {
        let group = locked_row(conn, ctx, group_id)?;
        remove_from_locked(conn, ctx, group, user_ids)
    })
}

/// [`remove_members`] from a group whose row the caller's transaction has locked.
fn remove_from_locked(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group: GroupRow,
    user_ids: &[String],
) -> Result<Change, ServiceError> {
    let removed = storage::delete_members(conn, &group.id, user_ids)?;
    finish_membership_change(conn, ctx, group, (&[], 0), (user_ids, removed))
}

/// What making a member list whole did.
struct Synced {
    added_ids: Vec<String>,
    added: usize,
    removed_ids: Vec<String>,
    removed: usize,
}

impl Synced {
    fn detail(&self) -> Value {
        members_detail(&self.added_ids, self.added, &self.removed_ids, self.removed)
    }
}

/// Makes `user_ids` (already checked) the group's member list: O(group size), by nature of a
/// replace. Writes membership rows only; the caller bumps and logs.
fn sync_members(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group_id: &str,
    user_ids: &[String],
) -> Result<Synced, ServiceError> {
    let current: HashSet<String> = storage::member_ids(conn, group_id)?.into_iter().collect();
    let wanted: HashSet<&String> = user_ids.iter().collect();
    let removed_ids: Vec<String> = current
        .iter()
        .filter(|id| !wanted.contains(id))
        .cloned()
        .collect();
    let added_ids: Vec<String> = user_ids
        .iter()
        .filter(|id| !current.contains(*id))
        .cloned()
        .collect();
    let removed = storage::delete_members(conn, group_id, &removed_ids)?;
    let added = storage::insert_members(conn, &member_rows(ctx, group_id, &added_ids))?;
    Ok(Synced {
        added_ids,
        added,
        removed_ids,
        removed,
    })
}

/// `before` with `changes` applied (version and times untouched).
fn changed_row(before: &GroupRow, changes: &AttributeChanges) -> GroupRow {
    let mut after = before.clone();
    if let Some(name) = &changes.display_name {
        // A group the re-fold kept distinct from an older look-alike keeps its mark while its
        // name folds the same (`crate::refold`).
        after.display_name_ci = identity_shadow(name, &before.id, &before.display_name_ci);
        after.display_name = name.clone();
    }
    if let Some(external_id) = &changes.external_id {
        after.external_id = external_id.clone();
    }
    if let Some(group_type) = &changes.group_type {
        after.group_type = group_type.clone();
    }
    after
}

/// Makes `user_ids` the group's whole member list (PUT, PATCH replace of `members`): members not
/// listed are removed, new ones added (validated as in [`add_members`]); memberships that stay are
/// not touched (a rule-made one stays rule-made).
pub fn replace_members(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group_id: &str,
    user_ids: &[String],
) -> Result<Change, ServiceError> {
    db::write_transaction(conn, |conn| {
        let group = locked_row(conn, ctx, group_id)?;
        replace_in_locked(conn, ctx, group, user_ids)
    })
}

/// [`replace_members`] of a group whose row the caller's transaction has locked.
fn replace_in_locked(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group: GroupRow,
    user_ids: &[String],
) -> Result<Change, ServiceError> {
    check_members(conn, &ctx.account.id, user_ids)?;
    let synced = sync_members(conn, ctx, &group.id, user_ids)?;
    finish_membership_change(
        conn,
        ctx,
        group,
        (&synced.added_ids, synced.added),
        (&synced.removed_ids, synced.removed),
    )
}

/// Changes a group's single-valued attributes (displayName, externalId, groupType), validated as on
/// create; 409 `uniqueness` on a taken displayName or externalId. Bumps the version when something
/// changed, and logs the attribute diff.
pub fn set_attributes(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    group_id: &str,
    changes: &AttributeChanges,
) -> Result<Change, ServiceError> {
    if let Some(name) = &changes.display_name {
        check_display_name(name)?;
    }
    if let Some(group_type) = &changes.group_type {
        check_group_type(group_type.as_deref())?;
    }
    if let Some(external_id) = &changes.external_id {
        check_external_id(external_id.as_deref())?;
    }
    let mut attempted = (String::new(), None);
    db::write_transaction(conn, |conn| {
        let before = locked_row(conn, ctx, group_id)?;
        let mut after = changed_row(&before, changes);
        attempted = (after.display_name.clone(), after.external_id.clone());
        let Some(detail) = audit::diff(Some(&snapshot(&before)), Some(&snapshot(&after))) else {
            return Ok(Change {
                group: before,
                added: 0,
                removed: 0,
            });
        };
        after.version = before.version + 1;
        after.updated_at = ctx.now;
        storage::update(conn, &after)?;
        record(conn, ctx, "update", group_id, "group.updated", Some(detail))?;
        Ok(Change {
            group: after,
            added: 0,
            removed: 0,
        })
    })
    .map_err(|e| uniqueness(e, &attempted.0, attempted.1.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_loaded_unless_excluded_or_left_out_of_attributes() {
        let registry = Registry::embedded();
        let rt = registry.resource_type("Group").unwrap();
        let wants = |attributes: Option<&str>, excluded: Option<&str>| {
            crate::scim::projection::Projection::parse(&registry, rt, attributes, excluded)
                .unwrap()
                .wants("members")
        };
        assert!(wants(None, None));
        assert!(!wants(None, Some("members")));
        assert!(!wants(None, Some("displayName, Members")));
        assert!(
            wants(None, Some("members.display")),
            "excluding a sub-attribute still needs members"
        );
        assert!(!wants(Some("displayName"), None));
        assert!(wants(Some("displayName,members.value"), None));
        assert!(wants(
            Some("urn:ietf:params:scim:schemas:core:2.0:Group:members"),
            None
        ));
    }

    #[test]
    fn members_parse_in_order_without_repeats_and_only_users() {
        let ids = parse_members(
            &json!([{"value": "a"}, {"Value": "b", "type": "User"}, {"value": "a"}]),
            10,
        )
        .unwrap();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(parse_members(&json!({"value": "x"}), 10).unwrap(), ["x"]);
        assert!(parse_members(&json!([{"value": "g", "type": "Group"}]), 10).is_err());
        assert!(parse_members(&json!([{"display": "no value"}]), 10).is_err());
        assert!(parse_members(&json!(["bare"]), 10).is_err());
        assert!(parse_members(&json!([{"value": "a"}, {"value": "b"}]), 1).is_err());
    }
}
