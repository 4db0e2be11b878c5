//! Invitations (DESIGN 6, seed `invite-users-by-email.txt`): the CMS "Invite user" form, and the
//! invitations an account sends when SCIM provisions a user with an e-mail (`inviteOnProvision`).
//! An invitation goes by e-mail, or by text message to an invitee without an e-mail address (the
//! form's phone-only invitations); with both, the e-mail takes precedence (seed).
//!
//! An invitation is a row only while it is pending: accepting, withdrawing and expiring delete it,
//! and with it every link to it, leaving a provisioning-log event without personal data. The link
//! token is `<id>.<mac>`, the MAC an HMAC under the server key of the id and a per-invitation nonce:
//! no table and no job payload holds a usable token; the send job derives the link when it runs.
//!
//! Time: expiry is fixed at the first send plus [`InvitationSettings::expiry`] (a resend does not
//! extend it); the marker turns yellow 7 days and red 3 days before. Reminders on the configured
//! days and the expiry are jobs scheduled (`run_at`) in the transaction that creates the invitation,
//! each under its own dedup key, so two workers never send the same reminder; a reminder is also
//! marked sent on the row, so a repeated job sends nothing new. Each invitation shows how its
//! delivery went ([`delivery`]); a resend is refused (429) until
//! [`InvitationSettings::resend_cooldown`] after the last send that went out, and accepted at once
//! while the latest send has not gone out. An ended invitation leaves a tombstone without personal
//! data until its original expiry, so its link says what became of it.

pub mod contacts;
pub mod delivery;
pub mod jobs;
pub mod rules;
pub mod storage;

use chrono::{Duration, NaiveDateTime};
use serde::Serialize;
use serde_json::{Value, json};

use crate::audit::{self, Event};
use crate::clock::rfc3339;
use crate::context::{Actor, WriteContext};
use crate::crypto::ServerKey;
use crate::db::models::InvitationRow;
use crate::db::{self, DbConn};
use crate::email::templates::Language;
use crate::error::{FieldError, ServiceError};
use crate::scim::etag::Precondition;
use crate::users::{self, Lifecycle, origin, registration, sign_in};
use rules::InvitationForm;

/// When invitations are reminded, expire and may be sent again, and where their links point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationSettings {
    /// Days after the first send on which a reminder goes out (ascending, before the expiry).
    pub reminder_days: Vec<i64>,
    /// How long after the first send an invitation expires.
    pub expiry: Duration,
    /// How long after the last send an admin caused a resend is refused.
    pub resend_cooldown: Duration,
    /// The page of the app that accepts invitations; the link is `{invite_url}?token=…`.
    pub invite_url: String,
}

impl Default for InvitationSettings {
    fn default() -> Self {
        Self {
            reminder_days: vec![7, 14, 30, 53, 57],
            expiry: Duration::days(60),
            resend_cooldown: Duration::hours(24),
            invite_url: "https://app.mobietrain.com/invitation".to_owned(),
        }
    }
}

impl InvitationSettings {
    /// Checks the settings: reminders ascending and before the expiry, at most 20 of them; a
    /// positive expiry; an absolute http(s) link without query or fragment.
    pub fn validate(&self) -> Result<(), String> {
        if self.expiry < Duration::days(1) {
            return Err("the invitation expiry must be at least one day".into());
        }
        if self.reminder_days.len() > 20 {
            return Err("at most 20 reminder days".into());
        }
        let mut previous = 0;
        for &day in &self.reminder_days {
            if day <= previous || Duration::days(day) >= self.expiry {
                return Err(format!(
                    "reminder days must ascend, from 1, and come before the expiry (day {})",
                    self.expiry.num_days()
                ));
            }
            previous = day;
        }
        if self.resend_cooldown < Duration::zero() {
            return Err("the resend cool-down cannot be negative".into());
        }
        let url = &self.invite_url;
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.contains(['?', '#', ' '])
        {
            return Err(format!(
                "INVITE_URL must be an absolute http(s) URL without ?query or #fragment: {url:?}"
            ));
        }
        Ok(())
    }
}

/// Where an invitation came from.
pub mod source {
    /// The CMS "Invite user" form (`POST /admin/v1/invitations`).
    pub const ADMIN: &str = "admin";
    /// SCIM provisioning, with the account's `inviteOnProvision`.
    pub const PROVISIONING: &str = "provisioning";
}

/// The purpose the link's MAC is made under.
const TOKEN_PURPOSE: &str = "invitation";
/// The longest link token read (an id, a dot and a 43-character MAC, with room to spare).
pub const MAX_TOKEN_LEN: usize = 160;

/// The link token of an invitation: `<id>.<mac>`. Derived, never stored.
pub fn link_token(key: &ServerKey, row: &InvitationRow) -> String {
    let mac = key.mac(TOKEN_PURPOSE, &[row.id.as_bytes(), row.nonce.as_bytes()]);
    format!("{}.{mac}", row.id)
}

/// The longest invitation id a link token may name (ids are UUIDs, 36 characters).
const MAX_ID_LEN: usize = 64;

/// Splits a link token into the invitation id and the MAC, or `None` when it cannot be one:
/// longer than [`MAX_TOKEN_LEN`], not exactly one dot, an id other than letters, digits and `-`,
/// or a MAC other than base64url. Reached by unauthenticated requests, so it is pure, allocates
/// nothing and never panics; nothing it refuses reaches the database (PostgreSQL could not even
/// look up an id holding NUL).
pub fn parse_link_token(token: &str) -> Option<(&str, &str)> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let (id, mac) = token.split_once('.')?;
    let id_ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let mac_ok = !mac.is_empty()
        && mac
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (id_ok && mac_ok).then_some((id, mac))
}

/// The link the e-mail or text message carries.
pub fn accept_url(settings: &InvitationSettings, key: &ServerKey, row: &InvitationRow) -> String {
    format!("{}?token={}", settings.invite_url, link_token(key, row))
}

/// The status the CMS shows beside an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Marker {
    /// More than 7 days left.
    Ok,
    /// 7 days or less left.
    Yellow,
    /// 3 days or less left.
    Red,
}

/// The marker of an invitation expiring at `expires_at`, seen at `now`.
pub fn marker(expires_at: NaiveDateTime, now: NaiveDateTime) -> Marker {
    if now >= expires_at - Duration::days(3) {
        Marker::Red
    } else if now >= expires_at - Duration::days(7) {
        Marker::Yellow
    } else {
        Marker::Ok
    }
}

/// An invitation as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    /// The invitation's id.
    pub id: String,
    /// The invited user.
    pub user_id: String,
    /// The user's first name.
    pub given_name: Option<String>,
    /// The user's last name.
    pub family_name: Option<String>,
    /// The invitee's e-mail address: where the invitation goes when there is one.
    pub email: Option<String>,
    /// The invitee's phone number, as typed: where the invitation goes by text message when
    /// there is no e-mail address.
    pub phone_number: Option<String>,
    /// The language it is written in.
    pub language: String,
    /// `ok`, `yellow` or `red`.
    pub marker: Marker,
    /// How the delivery of its latest send went.
    pub delivery: delivery::Delivery,
    /// When the first send went out; null while none has.
    pub first_sent_at: Option<String>,
    /// When an admin last caused a send (it may not have gone out: see `delivery`).
    pub last_sent_at: String,
    /// When it expires.
    pub expires_at: String,
    /// Reminders sent so far.
    pub reminders_sent: i32,
    /// From when a resend is refused no more; null when one is accepted now (the latest send has
    /// not gone out).
    pub resend_available_at: Option<String>,
}

/// From when a resend of `row` is accepted: the cool-down after the last send that went out, while
/// the latest send went out; `None` (now) otherwise.
fn resend_available_at(
    settings: &InvitationSettings,
    row: &InvitationRow,
) -> Option<NaiveDateTime> {
    let sent = row.delivery_status == delivery::Status::Sent.as_str();
    row.last_delivered_at
        .filter(|_| sent)
        .map(|at| at + settings.resend_cooldown)
}

fn views(
    conn: &mut DbConn,
    settings: &InvitationSettings,
    rows: Vec<InvitationRow>,
    now: NaiveDateTime,
) -> Result<Vec<Invitation>, ServiceError> {
    let ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
    let mut invitees = storage::invitees(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let who = invitees.remove(&r.user_id).unwrap_or_default();
            Invitation {
                marker: marker(r.expires_at, now),
                delivery: delivery::Delivery::of(&r),
                first_sent_at: r.first_delivered_at.map(rfc3339),
                last_sent_at: rfc3339(r.last_sent_at),
                expires_at: rfc3339(r.expires_at),
                resend_available_at: resend_available_at(settings, &r)
                    .filter(|at| *at > now)
                    .map(rfc3339),
                reminders_sent: r.reminders_sent,
                language: r.language,
                id: r.id,
                user_id: r.user_id,
                given_name: who.given_name,
                family_name: who.family_name,
                email: who.email,
                phone_number: who.phone_number,
            }
        })
        .collect())
}

fn view(
    conn: &mut DbConn,
    settings: &InvitationSettings,
    row: InvitationRow,
    now: NaiveDateTime,
) -> Result<Invitation, ServiceError> {
    Ok(views(conn, settings, vec![row], now)?
        .pop()
        .expect("one row, one view"))
}

/// The actor of what the server does by itself (expiry).
pub fn system_actor() -> Actor {
    Actor {
        label: "system".to_owned(),
        token_id: None,
    }
}

fn log(
    conn: &mut DbConn,
    account_id: &str,
    actor: &Actor,
    (action, code): (&str, &str),
    id: &str,
    detail: Option<Value>,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    audit::record(
        conn,
        account_id,
        actor,
        Event {
            action,
            resource_type: "Invitation",
            resource_id: Some(id),
            code,
            detail,
        },
        now,
    )?;
    Ok(())
}

/// Stores a new invitation of `user_id` and schedules its jobs: the first send now, the reminders
/// on their days, the expiry. Runs in the caller's transaction.
#[expect(clippy::too_many_arguments, reason = "one row's worth of plain values")]
fn open(
    conn: &mut DbConn,
    settings: &InvitationSettings,
    account_id: &str,
    user_id: &str,
    (source, created_user): (&str, bool),
    language: Language,
    agreement_accepted_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<InvitationRow, ServiceError> {
    let row = InvitationRow {
        id: crate::context::new_id(),
        account_id: account_id.to_owned(),
        user_id: user_id.to_owned(),
        created_user,
        source: source.to_owned(),
        nonce: crate::crypto::random_token(""),
        language: language.as_str().to_owned(),
        agreement_accepted_at,
        sends: 1,
        first_sent_at: now,
        last_sent_at: now,
        expires_at: now + settings.expiry,
        reminders_sent: 0,
        last_reminder: 0,
        created_at: now,
        updated_at: now,
        delivery_status: delivery::Status::Queued.as_str().to_owned(),
        delivery_attempts: 0,
        delivery_error: None,
        first_delivered_at: None,
        last_delivered_at: None,
    };
    storage::insert(conn, &row)?;
    jobs::schedule(conn, settings, &row, now)?;
    Ok(row)
}

/// Invites a person through the CMS form (read at the admin API's edge): checks every rule (DESIGN 5
/// and 6), then creates the user (`origin` invitation, `registration` invited) in the form's
/// groups, the invitation and its jobs, in one transaction. Nothing is written when a rule is broken.
pub fn create(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    settings: &InvitationSettings,
    form: &InvitationForm,
) -> Result<Invitation, ServiceError> {
    let checked = rules::check(form, &ctx.account.default_language);
    let user = checked.map(|c| (rules::user_input(form, c), c.language));
    db::write_transaction(conn, |conn| {
        let mut errors = user.as_ref().err().cloned().unwrap_or_default();
        let missing = missing_groups(conn, &ctx.account.id, &form.group_ids)?;
        errors.extend(missing);
        if !errors.is_empty() {
            return Err(ServiceError::InvalidFields(errors));
        }
        let (user, language) = user.as_ref().expect("no errors, so a user");
        contacts::refuse_taken(conn, &ctx.account.id, form)?;
        let lifecycle = Lifecycle {
            origin: origin::INVITATION,
            sign_in: sign_in::ANY,
            registration: registration::INVITED,
        };
        let rec =
            users::create_as(conn, ctx, user, lifecycle).map_err(|e| refused_user(e, form))?;
        for group_id in &form.group_ids {
            crate::groups::add_members(conn, ctx, group_id, std::slice::from_ref(&rec.row.id))?;
        }
        let row = open(
            conn,
            settings,
            &ctx.account.id,
            &rec.row.id,
            (source::ADMIN, true),
            *language,
            Some(ctx.now),
            ctx.now,
        )?;
        log(
            conn,
            &ctx.account.id,
            ctx.actor,
            ("create", "invitation.created"),
            &row.id,
            Some(json!({"userId": rec.row.id, "language": row.language, "source": row.source})),
            ctx.now,
        )?;
        view(conn, settings, row, ctx.now)
    })
}

/// A refusal of the form's user by the user-data rules, told as the form's fields: each broken rule
/// names its attribute path, which the form maps to the field holding it; a taken userName is a
/// conflict on the field it came from (the e-mail, else the phone number).
fn refused_user(err: ServiceError, form: &InvitationForm) -> ServiceError {
    match err {
        ServiceError::Violated(v) if v.is_conflict() => taken(form),
        ServiceError::Violated(v) => ServiceError::InvalidFields(
            v.iter()
                .map(|v| {
                    FieldError::new(
                        rules::form_field(&v.path).unwrap_or_default(),
                        v.detail.clone(),
                    )
                })
                .collect(),
        ),
        other => other,
    }
}

fn taken(form: &InvitationForm) -> ServiceError {
    let (field, value) = match (&form.email, &form.phone_number) {
        (Some(email), _) => ("email", email.as_str()),
        (None, phone) => ("phoneNumber", phone.as_deref().unwrap_or_default()),
    };
    let shown: String = value.chars().take(64).collect();
    ServiceError::FieldTaken(FieldError::new(
        field,
        format!(
            "{shown:?} is already the userName of a user of this account (an invited user's \
             userName is their e-mail address, or without one their phone number in E.164)"
        ),
    ))
}

fn missing_groups(
    conn: &mut DbConn,
    account_id: &str,
    ids: &[String],
) -> Result<Vec<FieldError>, ServiceError> {
    let found = crate::groups::storage::existing_groups(conn, account_id, ids)?;
    Ok(ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !found.contains(*id))
        .map(|(i, _)| FieldError::new(format!("groupIds[{i}]"), "is not a group of this account"))
        .collect())
}

/// Invites a user SCIM just created, when the account asks for it (`inviteOnProvision`, run by a
/// job after the create committed). The invitation is in the user's `preferredLanguage` (`nl-BE`
/// is `nl`), else `locale`, else the account's default; it carries the agreement the account's
/// admin accepted when turning the setting on, and no group rule applies. Skips users already
/// invited, gone, deactivated or without an e-mail address. Returns the invitation when one was made.
pub fn invite_provisioned(
    conn: &mut DbConn,
    settings: &InvitationSettings,
    account_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<Option<InvitationRow>, ServiceError> {
    db::write_transaction(conn, |conn| {
        let account = crate::accounts::find_account(conn, account_id)?;
        if !account.invite_on_provision {
            return Ok(None);
        }
        let Some(rec) = users::get(conn, account_id, user_id)
            .map(Some)
            .or_else(|e| match e {
                ServiceError::NotFound(_) => Ok(None),
                other => Err(other),
            })?
        else {
            return Ok(None);
        };
        let emails: Vec<_> = users::to_attributes(&rec).emails;
        if !rec.row.active
            || users::rules::mail_address(&emails).is_none()
            || rec.row.registration != registration::INVITED
            || storage::exists_for_user(conn, user_id)?
        {
            return Ok(None);
        }
        let language = Language::choose([
            rec.row.preferred_language.as_deref(),
            rec.row.locale.as_deref(),
            Some(account.default_language.as_str()),
        ]);
        let row = open(
            conn,
            settings,
            account_id,
            user_id,
            (source::PROVISIONING, false),
            language,
            account.invite_agreement_accepted_at,
            now,
        )?;
        log(
            conn,
            account_id,
            &system_actor(),
            ("create", "invitation.created"),
            &row.id,
            Some(json!({"userId": user_id, "language": row.language, "source": row.source})),
            now,
        )?;
        Ok(Some(row))
    })
}

/// One pending invitation of the account.
pub fn get(
    conn: &mut DbConn,
    settings: &InvitationSettings,
    account_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> Result<Invitation, ServiceError> {
    let row =
        storage::find(conn, account_id, id, now)?.ok_or(ServiceError::NotFound("invitation"))?;
    view(conn, settings, row, now)
}

/// Which invitations a list shows: by marker, by delivery status, by a search over the invitee's
/// name, userName, e-mail and phone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only invitations showing this marker.
    pub marker: Option<Marker>,
    /// Only invitations whose delivery is in this status.
    pub delivery: Option<delivery::Status>,
    /// Only invitations whose invitee's name, userName, e-mail or phone contains this text.
    pub search: Option<String>,
}

impl ListFilter {
    /// The storage's selection at `now`: a marker is a range of expiry times (the marker is
    /// computed from the expiry), so the database filters and counts, and paging stays exact.
    fn selection(&self, now: NaiveDateTime) -> storage::Selection {
        let (yellow, red) = (now + Duration::days(7), now + Duration::days(3));
        let (expires_after, expires_until) = match self.marker {
            None => (None, None),
            Some(Marker::Ok) => (Some(yellow), None),
            Some(Marker::Yellow) => (Some(red), Some(yellow)),
            Some(Marker::Red) => (None, Some(red)),
        };
        storage::Selection {
            expires_after,
            expires_until,
            delivery: self.delivery,
            search: self.search.clone(),
        }
    }
}

/// A page of the account's pending invitations that `filter` picks, soonest expiry first, and how
/// many there are.
pub fn list(
    conn: &mut DbConn,
    settings: &InvitationSettings,
    account_id: &str,
    filter: &ListFilter,
    (offset, limit): (i64, i64),
    now: NaiveDateTime,
) -> Result<(i64, Vec<Invitation>), ServiceError> {
    let selection = filter.selection(now);
    let (total, rows) = storage::page(conn, account_id, &selection, (offset, limit), now)?;
    Ok((total, views(conn, settings, rows, now)?))
}

/// Sends an invitation again (same link, same expiry): refused with [`ServiceError::TooSoon`]
/// while its latest send went out less than the cool-down ago, accepted at once while it has not
/// gone out: failing or failed, a new send replaces the earlier one's waiting retry (so one
/// message is on its way); queued and not yet tried, it is already on its way and nothing is
/// added. Of concurrent resends one queues the send.
pub fn resend(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    settings: &InvitationSettings,
    id: &str,
) -> Result<Invitation, ServiceError> {
    db::write_transaction(conn, |conn| {
        let row = storage::find(conn, &ctx.account.id, id, ctx.now)?
            .ok_or(ServiceError::NotFound("invitation"))?;
        // A send queued and not yet tried is on its way: another would add nothing.
        if untried(&row) {
            return view(conn, settings, row, ctx.now);
        }
        if !storage::record_resend(conn, &row, settings.resend_cooldown, ctx.now)? {
            let current = storage::find(conn, &ctx.account.id, id, ctx.now)?
                .ok_or(ServiceError::NotFound("invitation"))?;
            if untried(&current) {
                return view(conn, settings, current, ctx.now);
            }
            return Err(refused_resend(settings, &current, ctx.now));
        }
        let row = storage::find(conn, &ctx.account.id, id, ctx.now)?
            .ok_or(ServiceError::NotFound("invitation"))?;
        jobs::cancel_waiting_sends(conn, &row.account_id, &row.id)?;
        jobs::enqueue_send(conn, &row, ctx.now)?;
        log(
            conn,
            &ctx.account.id,
            ctx.actor,
            ("update", "invitation.resent"),
            id,
            Some(json!({"send": row.sends})),
            ctx.now,
        )?;
        view(conn, settings, row, ctx.now)
    })
}

/// Whether the latest send of `row` is queued and not yet tried.
fn untried(row: &InvitationRow) -> bool {
    row.delivery_status == delivery::Status::Queued.as_str() && row.delivery_attempts == 0
}

/// Why a resend of `row` was refused: the cool-down (429 with when), or a concurrent resend.
fn refused_resend(
    settings: &InvitationSettings,
    row: &InvitationRow,
    now: NaiveDateTime,
) -> ServiceError {
    match resend_available_at(settings, row).filter(|at| *at > now) {
        Some(at) => {
            let wait = (at - now).num_milliseconds();
            ServiceError::TooSoon {
                detail: format!(
                    "the invitation went out less than {} hours ago; it can be sent again at {}",
                    settings.resend_cooldown.num_hours(),
                    rfc3339(at)
                ),
                retry_after_secs: ((wait + 999) / 1000).max(1),
            }
        }
        None => ServiceError::Conflict(Box::new(crate::error::Conflict {
            detail: "another resend of this invitation was accepted at the same moment; read the \
                     invitation again"
                .to_owned(),
            errors: Vec::new(),
            members: serde_json::Map::new(),
        })),
    }
}

/// Ends an invitation: deletes it and its waiting jobs, and its user when the invitation created
/// them and they are still only invited (never a user an identity provider manages).
fn end(
    conn: &mut DbConn,
    account_id: &str,
    actor: &Actor,
    row: &InvitationRow,
    (action, code): (&str, &str),
    registry: &crate::scim::schema::Registry,
    now: NaiveDateTime,
) -> Result<bool, ServiceError> {
    if !storage::delete(conn, &row.id)? {
        return Ok(false);
    }
    jobs::cancel_waiting(conn, account_id, &row.id)?;
    let outcome = if code == "invitation.expired" {
        tombstone::EXPIRED
    } else {
        tombstone::WITHDRAWN
    };
    storage::insert_tombstone(conn, &tombstone::of(row, outcome, now))?;
    let mut user_deleted = false;
    if row.created_user {
        let rec = users::get(conn, account_id, &row.user_id);
        if let Ok(rec) = rec
            && rec.row.origin == origin::INVITATION
            && rec.row.registration == registration::INVITED
        {
            let account = crate::accounts::find_account(conn, account_id)?;
            let ctx = WriteContext {
                account: &account,
                actor,
                registry,
                now,
            };
            users::delete(conn, &ctx, &row.user_id, &Precondition::None)?;
            user_deleted = true;
        }
    }
    log(
        conn,
        account_id,
        actor,
        (action, code),
        &row.id,
        Some(json!({"userDeleted": user_deleted})),
        now,
    )?;
    Ok(true)
}

/// Withdraws a pending invitation (and its user, when the invitation created them).
pub fn withdraw(conn: &mut DbConn, ctx: &WriteContext<'_>, id: &str) -> Result<(), ServiceError> {
    db::write_transaction(conn, |conn| {
        let row = storage::find(conn, &ctx.account.id, id, ctx.now)?
            .ok_or(ServiceError::NotFound("invitation"))?;
        if !end(
            conn,
            &ctx.account.id,
            ctx.actor,
            &row,
            ("delete", "invitation.withdrawn"),
            ctx.registry,
            ctx.now,
        )? {
            return Err(ServiceError::NotFound("invitation"));
        }
        Ok(())
    })
}

/// Expires invitation `id` when its time has come: deletes it, and its user when the invitation
/// created them (GDPR); users an identity provider manages stay. `false` when there was nothing to
/// do (gone already, or not yet due).
pub fn expire(
    conn: &mut DbConn,
    registry: &crate::scim::schema::Registry,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, ServiceError> {
    db::write_transaction(conn, |conn| {
        let Some(row) = storage::find_any(conn, id)? else {
            return Ok(false);
        };
        if row.expires_at > now {
            return Ok(false);
        }
        end(
            conn,
            &row.account_id.clone(),
            &system_actor(),
            &row,
            ("delete", "invitation.expired"),
            registry,
            now,
        )
    })
}

/// What accepting an invitation gives the app: the user and a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The registered user.
    pub user_id: String,
    /// The app session's bearer token, shown now only.
    pub session_token: String,
    /// When the session ends.
    pub expires_at: String,
}

const UNKNOWN_LINK: &str = "this invitation link is not valid: it was already used, withdrawn or \
                            has expired, or it was not copied whole; ask for a new invitation";

/// Accepts an invitation with the token of its link: registers the user, ends the invitation (and
/// so every link to it) and begins an app session. Unknown links are [`ServiceError::NotFound`];
/// expired and withdrawn ones [`ServiceError::Gone`], an accepted one a [`ServiceError::Conflict`]
/// saying to sign in with a code (from the invitation's tombstone, while it is kept); none
/// changes anything.
pub fn accept(
    conn: &mut DbConn,
    key: &ServerKey,
    token: &str,
    session_lifetime: Duration,
    now: NaiveDateTime,
) -> Result<Accepted, ServiceError> {
    let unknown = || ServiceError::Gone(UNKNOWN_LINK.to_owned());
    let Some((id, mac)) = parse_link_token(token) else {
        return Err(ServiceError::NotFound("invitation"));
    };
    db::write_transaction(conn, |conn| {
        let Some(row) = storage::find_any(conn, id)? else {
            return Err(match storage::find_tombstone(conn, id, now)? {
                Some(t)
                    if key.verify_mac(
                        TOKEN_PURPOSE,
                        &[t.id.as_bytes(), t.nonce.as_bytes()],
                        mac,
                    ) =>
                {
                    tombstone::answer(&t)
                }
                _ => ServiceError::NotFound("invitation"),
            });
        };
        if !key.verify_mac(
            TOKEN_PURPOSE,
            &[row.id.as_bytes(), row.nonce.as_bytes()],
            mac,
        ) {
            return Err(ServiceError::NotFound("invitation"));
        }
        if row.expires_at <= now {
            return Err(ServiceError::Gone(
                "this invitation has expired; ask for a new one".to_owned(),
            ));
        }
        let user = users::get(conn, &row.account_id, &row.user_id)?;
        if user.row.sign_in == sign_in::CREWPLANNER {
            return Err(ServiceError::Forbidden(
                "this user signs in through CrewPlanner only; open MobieTrain from CrewPlanner"
                    .to_owned(),
            ));
        }
        if !user.row.active {
            return Err(ServiceError::Forbidden(
                "this user is deactivated; ask your administrator".to_owned(),
            ));
        }
        if !storage::delete(conn, &row.id)? {
            return Err(unknown());
        }
        jobs::cancel_waiting(conn, &row.account_id, &row.id)?;
        storage::insert_tombstone(conn, &tombstone::of(&row, tombstone::ACCEPTED, now))?;
        let invitee = Actor {
            label: "invitee".to_owned(),
            token_id: None,
        };
        users::mark_registered(conn, &row.account_id, &invitee, &row.user_id, now)?;
        log(
            conn,
            &row.account_id,
            &invitee,
            ("delete", "invitation.accepted"),
            &row.id,
            Some(json!({"userId": row.user_id})),
            now,
        )?;
        // Onboarding starts in the invitation's language (sms22: the one hook here).
        crate::sessions::default_language(conn, &row.account_id, &row.user_id, &row.language, now)?;
        let session = crate::sessions::create(
            conn,
            &row.account_id,
            &row.user_id,
            crate::sessions::via::INVITATION,
            session_lifetime,
            now,
        )?;
        Ok(Accepted {
            user_id: session.user_id,
            session_token: session.token,
            expires_at: rfc3339(session.expires_at),
        })
    })
}

/// What is kept of an ended invitation ([`storage::insert_tombstone`]): its id, how it ended and
/// when, and the nonce its link's MAC is checked with; no personal data. Kept until the
/// invitation's original expiry, and at least [`tombstone::MIN_KEEP`] after it ended (so an
/// expired link says so for a while); the hourly purge job removes it then.
pub mod tombstone {
    use chrono::{Duration, NaiveDateTime};

    use crate::db::models::{InvitationRow, InvitationTombstoneRow};
    use crate::error::{Conflict, ServiceError};

    /// The invitee accepted it.
    pub const ACCEPTED: &str = "accepted";
    /// An admin withdrew it.
    pub const WITHDRAWN: &str = "withdrawn";
    /// It expired.
    pub const EXPIRED: &str = "expired";
    /// The least time a tombstone is kept after its invitation ended.
    pub const MIN_KEEP: Duration = Duration::days(30);

    /// The tombstone of `row`, ended `outcome` at `now`.
    pub fn of(row: &InvitationRow, outcome: &str, now: NaiveDateTime) -> InvitationTombstoneRow {
        InvitationTombstoneRow {
            id: row.id.clone(),
            account_id: row.account_id.clone(),
            nonce: row.nonce.clone(),
            outcome: outcome.to_owned(),
            ended_at: now,
            keep_until: row.expires_at.max(now + MIN_KEEP),
        }
    }

    /// What a link of an ended invitation answers.
    pub fn answer(t: &InvitationTombstoneRow) -> ServiceError {
        let when = crate::clock::rfc3339(t.ended_at);
        match t.outcome.as_str() {
            ACCEPTED => ServiceError::Conflict(Box::new(Conflict {
                detail: format!(
                    "this invitation was already accepted (at {when}); open the MobieTrain app \
                     and sign in with a code sent to you"
                ),
                errors: Vec::new(),
                members: serde_json::Map::from_iter([
                    ("outcome".to_owned(), ACCEPTED.into()),
                    ("endedAt".to_owned(), when.clone().into()),
                ]),
            })),
            WITHDRAWN => ServiceError::Gone(format!(
                "this invitation was withdrawn (at {when}); ask your administrator for a new one"
            )),
            _ => ServiceError::Gone(format!(
                "this invitation expired (at {when}); ask your administrator for a new one"
            )),
        }
    }
}

/// Account settings moved to [`crate::accounts`], which owns the row; re-exported where the CLI
/// and the admin API have always found them.
pub use crate::accounts::{SettingsChange, change_settings};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn markers_turn_7_and_3_days_before_expiry_to_the_second() {
        let expires = chrono::DateTime::parse_from_rfc3339("2027-01-21T10:00:00Z")
            .unwrap()
            .naive_utc();
        let at = |d: i64, s: i64| expires - Duration::days(d) + Duration::seconds(s);
        assert_eq!(marker(expires, at(7, -1)), Marker::Ok);
        assert_eq!(marker(expires, at(7, 0)), Marker::Yellow);
        assert_eq!(marker(expires, at(3, -1)), Marker::Yellow);
        assert_eq!(marker(expires, at(3, 0)), Marker::Red);
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(InvitationSettings::default().validate(), Ok(()));
        for bad in [
            InvitationSettings {
                reminder_days: vec![7, 7],
                ..Default::default()
            },
            InvitationSettings {
                reminder_days: vec![60],
                ..Default::default()
            },
            InvitationSettings {
                invite_url: "https://app.example.com/i?x=1".into(),
                ..Default::default()
            },
            InvitationSettings {
                expiry: Duration::hours(1),
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn link_tokens_depend_on_key_id_and_nonce() {
        let key = ServerKey::generate();
        let row = InvitationRow {
            id: "0190-a".into(),
            account_id: "acc".into(),
            user_id: "u".into(),
            created_user: true,
            source: source::ADMIN.into(),
            nonce: "n1".into(),
            language: "en".into(),
            agreement_accepted_at: None,
            sends: 1,
            first_sent_at: NaiveDateTime::default(),
            last_sent_at: NaiveDateTime::default(),
            expires_at: NaiveDateTime::default(),
            reminders_sent: 0,
            last_reminder: 0,
            created_at: NaiveDateTime::default(),
            updated_at: NaiveDateTime::default(),
            delivery_status: "queued".into(),
            delivery_attempts: 0,
            delivery_error: None,
            first_delivered_at: None,
            last_delivered_at: None,
        };
        let token = link_token(&key, &row);
        assert!(token.starts_with("0190-a.") && token.len() <= MAX_TOKEN_LEN);
        assert_eq!(token, link_token(&key, &row), "a resend keeps the link");
        let other_nonce = InvitationRow {
            nonce: "n2".into(),
            ..row.clone()
        };
        assert_ne!(token, link_token(&key, &other_nonce));
        assert_ne!(token, link_token(&ServerKey::generate(), &row));
        assert_eq!(
            parse_link_token(&token),
            Some(("0190-a", token.split_once('.').unwrap().1)),
            "every token made parses"
        );
    }

    #[test]
    fn link_tokens_that_cannot_be_ours_do_not_parse() {
        let mac = "a".repeat(43);
        for bad in [
            String::new(),
            ".".into(),
            format!(".{mac}"),
            "0190-a.".into(),
            "0190-a".into(),
            format!("0190-a.{mac}.x"),
            format!("0190\u{0}a.{mac}"),
            format!("0190-a.{mac}\r\n"),
            format!("0190 a.{mac}"),
            format!("0190-a.{mac}="),
            format!("{}.{mac}", "a".repeat(65)),
            format!("0190-a.{}", "a".repeat(MAX_TOKEN_LEN)),
            format!("é.{mac}"),
        ] {
            assert_eq!(parse_link_token(&bad), None, "{bad:?}");
        }
    }

    proptest! {
        /// Garbage of any bytes, length and separators never panics, and whatever parses is an id
        /// and a MAC of the shapes a link token has, which rebuild the token exactly.
        #[test]
        fn any_text_parses_to_a_well_formed_token_or_none(
            token in prop_oneof![
                any::<String>(),
                "[a-z0-9.\\-_\u{0}\r\n %=+/]{0,200}",
                ("[0-9a-f-]{1,70}", "[.]{1,3}", "[A-Za-z0-9_=+/-]{0,60}")
                    .prop_map(|(a, d, b)| format!("{a}{d}{b}")),
            ]
        ) {
            if let Some((id, mac)) = parse_link_token(&token) {
                prop_assert!(token.len() <= MAX_TOKEN_LEN);
                prop_assert!(!id.is_empty() && id.len() <= 64);
                prop_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
                prop_assert!(!mac.is_empty());
                prop_assert!(mac.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
                prop_assert_eq!(format!("{id}.{mac}"), token);
            }
        }
    }
}
