//! SCIM Users: create, read, replace, delete and list, with MobieTrain's rules, stores and the
//! provisioning log. Every operation is scoped to one account and runs in one transaction.

pub mod contact;
pub mod directory;
pub mod etag;
pub mod group_rules;
pub mod input;
pub mod jobs;
pub mod model;
pub mod recipient;
pub mod rules;
pub mod storage;

use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};

use crate::audit::{self, Event};
use crate::context::{Actor, WriteContext, new_id};
use crate::db::batch::Batch;
use crate::db::models::{
    Account, AddressRow, EmailRow, PhoneNumberRow, RoleRow, UserRow, UserStoreRow,
};
use crate::db::{self, DbConn};
use crate::error::ServiceError;
use crate::scim::dialect::Rewrite;
use crate::scim::error::{AttrPath, Rule, Violation};
use crate::scim::etag::{self as wire_etag, Precondition};
use crate::scim::list::{ListRequest, Listed};
use crate::scim::patch;
use crate::scim::schema::Registry;
use crate::scim::urn;
use crate::stores::{self, StoreRef};
use crate::text::{fold_identity, identity_shadow};
pub use input::UserInput;
use model::{
    Address, EnterpriseUser, Manager, MobieTrainUser, Name, PluralValue, StoreValue, UserAttributes,
};
pub use storage::UserRecord;

/// How a user came to exist (DESIGN 5).
pub mod origin {
    /// Provisioned over SCIM: managed by the identity provider.
    pub const SCIM: &str = "scim";
    /// Invited by an admin (or on provisioning, when the account asks for it).
    pub const INVITATION: &str = "invitation";
    /// Created on a first visit through the CrewPlanner link.
    pub const CREWPLANNER: &str = "crewplanner";
}

/// How a user may sign in to the app (DESIGN 5).
pub mod sign_in {
    /// Any way the account offers.
    pub const ANY: &str = "any";
    /// Only through the CrewPlanner link.
    pub const CREWPLANNER: &str = "crewplanner";
}

/// Whether a user has registered in the app (DESIGN 5).
pub mod registration {
    /// Invited, not registered yet.
    pub const INVITED: &str = "invited";
    /// Registered.
    pub const REGISTERED: &str = "registered";
}

/// Where a new user comes from and how they may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    /// One of [`origin`].
    pub origin: &'static str,
    /// One of [`sign_in`].
    pub sign_in: &'static str,
    /// One of [`registration`].
    pub registration: &'static str,
}

impl Lifecycle {
    /// A user provisioned over SCIM.
    pub const SCIM: Lifecycle = Lifecycle {
        origin: origin::SCIM,
        sign_in: sign_in::ANY,
        registration: registration::REGISTERED,
    };
}

fn store_refs(attrs: &UserInput) -> Vec<StoreRef> {
    attrs
        .stores
        .iter()
        .enumerate()
        .map(|(i, s)| StoreRef {
            ref_id: s.ref_id.clone().unwrap_or_default(),
            name: s.name.clone(),
            country_calling_code: s.country_calling_code.clone(),
            inherited_calling_code: s.written.inherited_calling_code.clone(),
            calling_code_path: s.attr_path(i, "countryCallingCode"),
        })
        .collect()
}

/// Fills the attribute columns and child rows of `row` from `attrs`.
fn build_record(
    attrs: &UserInput,
    mut row: UserRow,
    stores: Vec<crate::db::models::StoreRow>,
) -> UserRecord {
    let name = attrs.name.clone();
    let ent = attrs.enterprise.clone();
    let manager = ent.manager.clone().unwrap_or_default();
    let user_name = attrs.user_name.clone().unwrap_or_default();
    // A replacement starts from the stored row, so a user the re-fold kept distinct from an older
    // look-alike keeps its mark while its userName folds the same (`crate::refold`).
    row.user_name_ci = identity_shadow(&user_name, &row.id, &row.user_name_ci);
    row.user_name = user_name;
    row.external_id = attrs.external_id.clone();
    row.name_formatted = name.formatted;
    row.family_name = name.family_name;
    row.given_name = name.given_name;
    row.middle_name = name.middle_name;
    row.honorific_prefix = name.honorific_prefix;
    row.honorific_suffix = name.honorific_suffix;
    row.display_name = attrs.display_name.clone();
    row.nick_name = attrs.nick_name.clone();
    row.profile_url = attrs.profile_url.clone();
    row.title = attrs.title.clone();
    row.user_type = attrs.user_type.clone();
    row.preferred_language = attrs.preferred_language.clone();
    row.locale = attrs.locale.clone();
    row.timezone = attrs.timezone.clone();
    row.employee_number = ent.employee_number;
    row.cost_center = ent.cost_center;
    row.organization = ent.organization;
    row.division = ent.division;
    row.department = ent.department;
    row.manager_value = manager.value;
    row.manager_ref = manager.reference;
    row.company_id = attrs.company_id.clone();

    let (id, account) = (row.id.clone(), row.account_id.clone());
    let position = |i: usize| i32::try_from(i).expect("multi-valued attributes are bounded");
    let emails = attrs
        .emails
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let value = e.value.clone().unwrap_or_default();
            EmailRow {
                user_id: id.clone(),
                position: position(i),
                account_id: account.clone(),
                value_ci: fold_identity(&value),
                value,
                display: e.display.clone(),
                kind: e.kind.clone(),
                is_primary: e.primary,
            }
        })
        .collect();
    let phone_numbers = attrs
        .phone_numbers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let value = p.value.clone().unwrap_or_default();
            PhoneNumberRow {
                user_id: id.clone(),
                position: position(i),
                account_id: account.clone(),
                value_e164: crate::phone::e164(&value),
                value,
                display: p.display.clone(),
                kind: p.kind.clone(),
                is_primary: p.primary,
            }
        })
        .collect();
    let addresses = attrs
        .addresses
        .iter()
        .enumerate()
        .map(|(i, a)| AddressRow {
            user_id: id.clone(),
            position: position(i),
            formatted: a.formatted.clone(),
            street_address: a.street_address.clone(),
            locality: a.locality.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
            kind: a.kind.clone(),
            is_primary: a.primary,
        })
        .collect();
    let roles = attrs
        .roles
        .iter()
        .enumerate()
        .map(|(i, r)| RoleRow {
            user_id: id.clone(),
            position: position(i),
            value: r.value.clone().unwrap_or_default(),
            display: r.display.clone(),
            kind: r.kind.clone(),
            is_primary: r.primary,
        })
        .collect();
    let stores = attrs
        .stores
        .iter()
        .zip(stores)
        .enumerate()
        .map(|(i, (s, store))| {
            let link = UserStoreRow {
                user_id: id.clone(),
                position: position(i),
                store_id: store.id.clone(),
                is_primary: s.primary,
            };
            (link, store)
        })
        .collect();
    UserRecord {
        row,
        emails,
        phone_numbers,
        addresses,
        roles,
        stores,
        groups: Vec::new(),
    }
}

/// The attributes a stored user shows, lifecycle fields and flat store view included.
pub fn to_attributes(rec: &UserRecord) -> UserAttributes {
    let r = &rec.row;
    let name = Name {
        formatted: r.name_formatted.clone(),
        family_name: r.family_name.clone(),
        given_name: r.given_name.clone(),
        middle_name: r.middle_name.clone(),
        honorific_prefix: r.honorific_prefix.clone(),
        honorific_suffix: r.honorific_suffix.clone(),
    };
    let manager = Manager {
        value: r.manager_value.clone(),
        reference: r.manager_ref.clone(),
    };
    let enterprise = EnterpriseUser {
        employee_number: r.employee_number.clone(),
        cost_center: r.cost_center.clone(),
        organization: r.organization.clone(),
        division: r.division.clone(),
        department: r.department.clone(),
        manager: (manager != Manager::default()).then_some(manager),
    };
    let mut mobietrain = MobieTrainUser {
        company_id: r.company_id.clone(),
        stores: rec
            .stores
            .iter()
            .map(|(link, store)| StoreValue {
                ref_id: Some(store.ref_id.clone()),
                name: store.name.clone(),
                country_calling_code: Some(store.country_calling_code.clone()),
                primary: link.is_primary,
                ..StoreValue::default()
            })
            .collect(),
        origin: Some(r.origin.clone()),
        sign_in: Some(r.sign_in.clone()),
        registration: Some(r.registration.clone()),
        ..Default::default()
    };
    mobietrain.show_flat_store();
    let plural =
        |value: &str, display: &Option<String>, kind: &Option<String>, primary: Option<bool>| {
            PluralValue {
                value: Some(value.to_owned()),
                display: display.clone(),
                kind: kind.clone(),
                primary,
            }
        };
    UserAttributes {
        external_id: r.external_id.clone(),
        user_name: Some(r.user_name.clone()),
        name: (name != Name::default()).then_some(name),
        display_name: r.display_name.clone(),
        nick_name: r.nick_name.clone(),
        profile_url: r.profile_url.clone(),
        title: r.title.clone(),
        user_type: r.user_type.clone(),
        preferred_language: r.preferred_language.clone(),
        locale: r.locale.clone(),
        timezone: r.timezone.clone(),
        active: Some(r.active),
        emails: rec
            .emails
            .iter()
            .map(|e| plural(&e.value, &e.display, &e.kind, e.is_primary))
            .collect(),
        phone_numbers: rec
            .phone_numbers
            .iter()
            .map(|p| plural(&p.value, &p.display, &p.kind, p.is_primary))
            .collect(),
        addresses: rec
            .addresses
            .iter()
            .map(|a| Address {
                formatted: a.formatted.clone(),
                street_address: a.street_address.clone(),
                locality: a.locality.clone(),
                region: a.region.clone(),
                postal_code: a.postal_code.clone(),
                country: a.country.clone(),
                kind: a.kind.clone(),
                primary: a.is_primary,
            })
            .collect(),
        roles: rec
            .roles
            .iter()
            .map(|r| plural(&r.value, &r.display, &r.kind, r.is_primary))
            .collect(),
        enterprise: (enterprise != EnterpriseUser::default()).then_some(enterprise),
        mobietrain: Some(mobietrain),
    }
}

/// The SCIM representation of a stored user; `base_url` is the SCIM base (`…/scim/v2`).
pub fn to_resource(rec: &UserRecord, base_url: &str) -> Value {
    let attrs = to_attributes(rec);
    let mut schemas = vec![urn::USER];
    if attrs.enterprise.is_some() {
        schemas.push(urn::ENTERPRISE_USER);
    }
    schemas.push(urn::MOBIETRAIN_USER);
    let mut out = Map::new();
    out.insert("schemas".into(), json!(schemas));
    out.insert("id".into(), json!(rec.row.id));
    if let Value::Object(fields) = serde_json::to_value(&attrs).expect("user attributes serialise")
    {
        out.extend(fields);
    }
    if !rec.groups.is_empty() {
        let groups: Vec<Value> = rec
            .groups
            .iter()
            .map(|g| {
                json!({"value": g.group_id, "display": g.display, "type": "direct",
                       "$ref": format!("{base_url}/Groups/{}", g.group_id)})
            })
            .collect();
        out.insert("groups".into(), Value::Array(groups));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": crate::clock::rfc3339(rec.row.created_at),
            "lastModified": crate::clock::rfc3339(rec.row.updated_at),
            "location": format!("{base_url}/Users/{}", rec.row.id),
            "version": wire_etag::weak(&rec.tag()),
        }),
    );
    Value::Object(out)
}

fn snapshot(rec: &UserRecord) -> Value {
    serde_json::to_value(to_attributes(rec)).expect("user attributes serialise")
}

/// Turns a unique-index violation into the violation of [`Rule::Unique`] that names the attribute
/// (a 409).
fn uniqueness(err: ServiceError, attrs: &UserInput) -> ServiceError {
    let ServiceError::Database(db_err) = &err else {
        return err;
    };
    let Some(constraint) = db::unique_violation(db_err) else {
        return err;
    };
    if constraint.contains("user_name") {
        Violation::new(
            AttrPath::core("userName"),
            Rule::Unique,
            format!(
                "userName {:?} is already taken in this account (userName is compared ignoring \
                 case, width, ligatures and invisible characters)",
                attrs.user_name.as_deref().unwrap_or_default()
            ),
        )
        .into()
    } else if constraint.contains("external_id") {
        Violation::new(
            AttrPath::core("externalId"),
            Rule::Unique,
            format!(
                "externalId {:?} is already used by another user in this account",
                attrs.external_id.as_deref().unwrap_or_default()
            ),
        )
        .into()
    } else {
        err
    }
}

/// Adds the log rows of the write `ctx` of user `user_id` to `batch`: `event`, then one row per
/// warning.
fn log_write(
    batch: &mut Batch<'_>,
    ctx: &WriteContext<'_>,
    user_id: &str,
    event: Event<'_>,
    warnings: &[rules::Warning],
) {
    audit::record_in(batch, &ctx.account.id, ctx.actor, event, ctx.now);
    for w in warnings {
        audit::warn_about_user_in(batch, ctx, user_id, w.code, w.detail.clone());
    }
}

/// Adds the log rows of the creation of `rec` to `batch` (see [`log_write`]).
fn log_created(
    batch: &mut Batch<'_>,
    ctx: &WriteContext<'_>,
    rec: &UserRecord,
    warnings: &[rules::Warning],
) {
    let event = Event {
        action: "create",
        resource_type: "User",
        resource_id: Some(&rec.row.id),
        code: "user.created",
        detail: audit::diff(None, Some(&snapshot(rec))),
    };
    log_write(batch, ctx, &rec.row.id, event, warnings);
}

/// Inserts a new user of an account with group rules, then lets the rules place it and logs the
/// creation with the groups they gave it. The rules write membership rows that reference the
/// user, so its rows cannot wait to go out with the log rows (one statement more than without
/// rules). No warning when no rule placed the user: groups arrive after users over SCIM, and a
/// warning on every ordinary create is noise; "in no group" is a filter of the user list.
fn insert_placed_by_rules(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    mut rec: UserRecord,
    warnings: &[rules::Warning],
) -> Result<UserRecord, ServiceError> {
    storage::insert(conn, &rec)?;
    group_rules::apply(conn, ctx, &mut rec)?;
    let mut batch = Batch::new();
    log_created(&mut batch, ctx, &rec, warnings);
    batch.execute(conn)?;
    Ok(rec)
}

/// Refuses an enterprise `manager.value` that is not the id of a user of the account (DESIGN 4: like
/// a group's member ids). A user of another account is as unknown as an id that exists nowhere, so
/// the answer never tells them apart. Only a value the write changes is checked: a manager deleted
/// since it was set leaves a stale value behind, and a client resending the user as it read it
/// (Okta's read-modify-write PUT, a PATCH of another attribute) must not be refused for it. A blank
/// value is no reference and is not looked up.
fn check_manager(
    conn: &mut DbConn,
    account_id: &str,
    attrs: &UserInput,
    current: Option<&UserRecord>,
) -> Result<(), ServiceError> {
    let Some(value) = attrs
        .enterprise
        .manager
        .as_ref()
        .and_then(|m| m.value.as_deref())
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(());
    };
    if current.is_some_and(|c| c.row.manager_value.as_deref() == Some(value)) {
        return Ok(());
    }
    if storage::exists(conn, account_id, value)? {
        return Ok(());
    }
    let path = AttrPath::extension(urn::ENTERPRISE_USER, "manager").sub("value");
    Err(Violation::new(
        path,
        Rule::Reference,
        format!(
            "\"{path}\" {value:?} is not the id of a user in this account; a manager is \
             referenced by the id MobieTrain gave the manager's user"
        ),
    )
    .into())
}

/// Creates a user provisioned over SCIM (origin `scim`). When the account invites on provisioning
/// and the user has an e-mail address (an e-mail value that is not one is skipped, with the warning
/// `user.email_invalid`), the user is `invited` and their invitation is enqueued in the same
/// transaction (a job makes it, with the invitation settings; DESIGN 6).
pub fn create(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    input: &UserInput,
) -> Result<UserRecord, ServiceError> {
    let invite = ctx.account.invite_on_provision && rules::mail_address(&input.emails).is_some();
    if !invite {
        return create_as(conn, ctx, input, Lifecycle::SCIM);
    }
    db::write_transaction(conn, |conn| {
        let lifecycle = Lifecycle {
            registration: registration::INVITED,
            ..Lifecycle::SCIM
        };
        let rec = create_as(conn, ctx, input, lifecycle)?;
        jobs::enqueue_provision(conn, &ctx.account.id, &rec.row.id, ctx.now)?;
        Ok(rec)
    })
}

/// Marks a user `registered` (an accepted invitation): a new version, logged.
pub fn mark_registered(
    conn: &mut DbConn,
    account_id: &str,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    let changed = diesel::update(
        users::table
            .filter(users::account_id.eq(account_id))
            .filter(users::id.eq(id)),
    )
    .set((
        users::registration.eq(registration::REGISTERED),
        users::version.eq(users::version + 1),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(ServiceError::NotFound("user"));
    }
    audit::record(
        conn,
        account_id,
        actor,
        Event {
            action: "update",
            resource_type: "User",
            resource_id: Some(id),
            code: "user.registered",
            detail: Some(
                json!({"registration": [registration::INVITED, registration::REGISTERED]}),
            ),
        },
        now,
    )?;
    Ok(())
}

/// Creates a user with the given lifecycle (invitations and CrewPlanner create users this way,
/// under the same rules as SCIM). Joins the caller's transaction if any; inside one, a refusal
/// (a rule, a taken userName) leaves the caller's transaction usable.
pub fn create_as(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    attrs: &UserInput,
    lifecycle: Lifecycle,
) -> Result<UserRecord, ServiceError> {
    let invited = lifecycle.origin == origin::INVITATION;
    let warnings = if invited {
        // An invitation has no externalId (DESIGN 5: n/a): the externalId rule does not apply.
        let account = Account {
            require_external_id: false,
            ..ctx.account.clone()
        };
        let mut warnings = rules::check(attrs, &account)?;
        warnings.retain(|w| w.code != "user.external_id_missing");
        warnings
    } else {
        rules::check(attrs, ctx.account)?
    };
    let row = UserRow {
        id: new_id(),
        account_id: ctx.account.id.clone(),
        active: attrs.active.unwrap_or(true),
        origin: lifecycle.origin.to_owned(),
        sign_in: lifecycle.sign_in.to_owned(),
        registration: lifecycle.registration.to_owned(),
        version: 1,
        created_at: ctx.now,
        updated_at: ctx.now,
        ..Default::default()
    };
    db::write_transaction(conn, |conn| {
        check_manager(conn, &ctx.account.id, attrs, None)?;
        let stores = stores::resolve(
            conn,
            &ctx.account.id,
            ctx.actor,
            &store_refs(attrs),
            ctx.now,
        )?;
        let rec = build_record(attrs, row, stores);
        if ctx.account.has_group_rules {
            return insert_placed_by_rules(conn, ctx, rec, &warnings);
        }
        // Without group rules nothing else is written: the user's rows and its log rows go
        // out together (one statement on PostgreSQL).
        let mut batch = Batch::new();
        storage::insert_in(&mut batch, &rec);
        log_created(&mut batch, ctx, &rec, &warnings);
        batch.execute(conn)?;
        Ok(rec)
    })
    .map_err(|e| uniqueness(e, attrs))
}

/// Refuses a write whose `If-Match` names another tag than the user's current one ([`etag`]; a
/// rename of one of its stores or groups counts) (412).
fn check_precondition(precondition: &Precondition, tag: &str) -> Result<(), ServiceError> {
    if precondition.holds_tag(tag) {
        Ok(())
    } else {
        Err(ServiceError::PreconditionFailed(format!(
            "the resource has changed: its version is {}, not the one in If-Match; read it again",
            wire_etag::weak(tag)
        )))
    }
}

/// Replaces a user with `attrs` (the body of a PUT): attributes not given are cleared. `active`,
/// when not given, keeps its value, so a PUT never reactivates a user by omission. Never creates.
pub fn replace(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
    attrs: &UserInput,
    precondition: &Precondition,
) -> Result<UserRecord, ServiceError> {
    let warnings = rules::check(attrs, ctx.account)?;
    with_retries(|lock| {
        db::write_transaction(conn, |conn| {
            let current = current(conn, ctx, id, precondition, lock)?;
            write_replacement(
                conn,
                ctx,
                &current,
                attrs,
                &warnings,
                "replace",
                "user.replaced",
            )
        })
    })
    .map_err(|e| uniqueness(e, attrs))
}

/// Applies a PATCH request (RFC 7644 §3.5.2, with Entra's and Okta's dialects) atomically: the
/// operations apply to the current state under a row lock, and the result is validated by the seed's
/// rules and stored exactly as a PUT would be; a result equal to the current state is not stored at
/// all (same version, no log entry). Returns the user and the dialect rewrites applied.
pub fn patch(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
    body: &Value,
    precondition: &Precondition,
) -> Result<(UserRecord, Vec<Rewrite>), ServiceError> {
    let resource_type = ctx
        .registry
        .resource_type("User")
        .expect("the User resource type is served");
    let mut parse_rewrites = Vec::new();
    let operations = patch::normalize(ctx.registry, resource_type, body, &mut parse_rewrites)?;
    let mut patched: Option<UserInput> = None;
    let mut apply_rewrites = Vec::new();
    let result = with_retries(|lock| {
        db::write_transaction(conn, |conn| {
            let current = current(conn, ctx, id, precondition, lock)?;
            let mut doc = match serde_json::to_value(to_attributes(&current)) {
                Ok(Value::Object(doc)) => doc,
                _ => unreachable!("user attributes serialise to an object"),
            };
            doc.insert("id".into(), Value::String(current.row.id.clone()));
            // The flat store attributes are a view of `stores`: only what the PATCH sets is folded in.
            if let Some(Value::Object(mt)) = doc.get_mut(urn::MOBIETRAIN_USER) {
                for flat in ["storeRefId", "storeName", "storeCountryCallingCode"] {
                    mt.remove(flat);
                }
            }
            apply_rewrites.clear();
            let new_doc = patch::apply(
                ctx.registry,
                resource_type,
                &doc,
                &operations,
                &mut apply_rewrites,
            )?;
            // The patched document is handed over typed, through the parse every SCIM body takes.
            let attrs = UserInput::from_scim(&Value::Object(new_doc), ctx.registry)?;
            // A PATCH whose result is the user as stored (an add of what is there, Entra's periodic
            // `active: true`) changes nothing: RFC 7644 §3.5.2.1 keeps the modify timestamp, so the
            // version, `lastModified` and the provisioning log stay as they are. Both sides are read
            // the same way, so only a real difference counts.
            if attrs == UserInput::from_scim(&Value::Object(doc), ctx.registry)? {
                return Ok(current);
            }
            let warnings = rules::check(&attrs, ctx.account)?;
            patched = Some(attrs.clone());
            write_replacement(
                conn,
                ctx,
                &current,
                &attrs,
                &warnings,
                "update",
                "user.patched",
            )
        })
    });
    let rec = result.map_err(|e| match &patched {
        Some(attrs) => uniqueness(e, attrs),
        None => e,
    })?;
    parse_rewrites.extend(apply_rewrites);
    Ok((rec, parse_rewrites))
}

/// How often a write that lost a race to a concurrent writer of the same user is tried again.
const WRITE_ATTEMPTS: usize = 5;

/// Runs `attempt` until it does not lose a race ([`ServiceError::Contended`]), a few times at most.
/// The first attempt is optimistic (`attempt(false)`: the user is read without a lock, and the
/// compare-and-set of the write notices a concurrent writer); the later ones lock the user's row
/// first (`attempt(true)`), so writers of one user that keep meeting queue instead of racing.
fn with_retries<T>(
    mut attempt: impl FnMut(bool) -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    let mut tries = 1;
    loop {
        match attempt(tries > 1) {
            Err(ServiceError::Contended) if tries < WRITE_ATTEMPTS => tries += 1,
            other => return other,
        }
    }
}

/// Loads a user for a write, its row locked first when `lock` (else the write's compare-and-set
/// guards it: see [`with_retries`]), checking the client's precondition.
fn current(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
    precondition: &Precondition,
    lock: bool,
) -> Result<UserRecord, ServiceError> {
    if lock && !storage::lock(conn, &ctx.account.id, id)? {
        return Err(ServiceError::NotFound("user"));
    }
    let current = get(conn, &ctx.account.id, id)?;
    check_precondition(precondition, &current.tag())?;
    Ok(current)
}

/// Stores `attrs` as the new state of `current` (stores resolved, version bumped, logged).
fn write_replacement(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    current: &UserRecord,
    attrs: &UserInput,
    warnings: &[rules::Warning],
    action: &str,
    code: &str,
) -> Result<UserRecord, ServiceError> {
    check_manager(conn, &ctx.account.id, attrs, Some(current))?;
    let row = UserRow {
        active: attrs.active.unwrap_or(current.row.active),
        version: current.row.version + 1,
        updated_at: ctx.now,
        ..current.row.clone()
    };
    let known: Vec<_> = current.stores.iter().map(|(_, s)| s.clone()).collect();
    let stores = stores::resolve_known(
        conn,
        &ctx.account.id,
        ctx.actor,
        &store_refs(attrs),
        &known,
        ctx.now,
    )?;
    let mut rec = build_record(attrs, row, stores);
    rec.groups = current.groups.clone();
    // Group rules may change the user's groups, which the log row shows, and only once the user
    // is written; without rules the log rows are known now and go out with the update.
    let placed_by_rules = ctx.account.has_group_rules;
    let mut log = Batch::new();
    if !placed_by_rules {
        log_replaced(&mut log, ctx, current, &rec, (action, code), warnings);
    }
    if !storage::replace(conn, &rec, current, log)? {
        return Err(ServiceError::Contended);
    }
    if current.row.active && !rec.row.active {
        // Deactivation ends the user's app sessions at once (DESIGN 4, soft delete).
        crate::sessions::end_for_user(conn, &rec.row.id)?;
    }
    if placed_by_rules {
        group_rules::apply(conn, ctx, &mut rec)?;
        let mut log = Batch::new();
        log_replaced(&mut log, ctx, current, &rec, (action, code), warnings);
        log.execute(conn)?;
    }
    Ok(rec)
}

/// Adds the log rows of the replacement of `current` by `rec` to `batch` (see [`log_write`]);
/// `what` is the event's action and code.
fn log_replaced(
    batch: &mut Batch<'_>,
    ctx: &WriteContext<'_>,
    current: &UserRecord,
    rec: &UserRecord,
    (action, code): (&str, &str),
    warnings: &[rules::Warning],
) {
    let event = Event {
        action,
        resource_type: "User",
        resource_id: Some(&rec.row.id),
        code,
        detail: audit::diff(Some(&snapshot(current)), Some(&snapshot(rec))),
    };
    log_write(batch, ctx, &rec.row.id, event, warnings);
}

/// Deletes a user. The provisioning log keeps that it happened; the personal data in its earlier
/// entries is redacted.
pub fn delete(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
    precondition: &Precondition,
) -> Result<(), ServiceError> {
    db::write_transaction(conn, |conn| {
        if *precondition != Precondition::None {
            current(conn, ctx, id, precondition, true)?;
        }
        // The user's groups lose a member: their versions move on, so cached copies go stale.
        crate::groups::storage::bump_groups_of_member(conn, &ctx.account.id, id, ctx.now)?;
        if storage::delete(conn, &ctx.account.id, id)? == 0 {
            return Err(ServiceError::NotFound("user"));
        }
        audit::redact_resource(conn, &ctx.account.id, "User", id)?;
        audit::record(
            conn,
            &ctx.account.id,
            ctx.actor,
            Event {
                action: "delete",
                resource_type: "User",
                resource_id: Some(id),
                code: "user.deleted",
                detail: None,
            },
            ctx.now,
        )?;
        Ok(())
    })
}

/// Deletes a user an admin removes by hand (the seed's "manually deleted in the CMS"): only users
/// no identity provider manages. A user provisioned over SCIM is refused (`Forbidden`), for the
/// identity provider would only create them again; nothing is written then.
pub fn delete_unmanaged(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
) -> Result<(), ServiceError> {
    db::write_transaction(conn, |conn| {
        let rec = get(conn, &ctx.account.id, id)?;
        if rec.row.origin == origin::SCIM {
            return Err(ServiceError::Forbidden(
                "this user is managed by the account's identity provider (provisioned over \
                 SCIM): delete or deactivate them there"
                    .to_owned(),
            ));
        }
        delete(conn, ctx, id, &Precondition::None)
    })
}

/// How many users an account has.
pub fn count(conn: &mut DbConn, account_id: &str) -> Result<i64, ServiceError> {
    Ok(storage::count(conn, account_id)?)
}

/// The user `id` of `account_id`.
pub fn get(conn: &mut DbConn, account_id: &str, id: &str) -> Result<UserRecord, ServiceError> {
    storage::load(conn, account_id, &[id.to_owned()])?
        .pop()
        .ok_or(ServiceError::NotFound("user"))
}

/// One page of an account's users matching the request, how many match in all, and the dialect
/// rewrites the filter needed.
pub fn list(
    conn: &mut DbConn,
    registry: &Registry,
    account_id: &str,
    request: &ListRequest,
) -> Result<Listed<UserRecord>, ServiceError> {
    let found = storage::find_page(conn, registry, account_id, request)?;
    Ok(Listed {
        total: found.total as u64,
        records: found.items,
        rewrites: found.rewrites,
        next: found.next,
        previous: found.previous,
    })
}
