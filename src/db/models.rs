//! Rows as stored: one struct per table, read with `Selectable` and written with `Insertable` or
//! `AsChangeset`. Rows never go on the wire; the domain turns them into SCIM resources.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::*;

/// A MobieTrain account: the tenant every other row belongs to.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = accounts)]
pub struct Account {
    /// UUIDv7.
    pub id: String,
    /// A name for people.
    pub name: String,
    /// Whether a user without `externalId` is refused (400) rather than warned about.
    pub require_external_id: bool,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Whether a user created over SCIM with an e-mail gets an invitation (DESIGN 6).
    pub invite_on_provision: bool,
    /// The language of invitations when the user's own is not written in (`en`, `nl`, `fr`, `de`).
    pub default_language: String,
    /// When the account's admin accepted the user agreement for invitations sent on provisioning.
    pub invite_agreement_accepted_at: Option<NaiveDateTime>,
    /// Whether a SCIM user without a contact (no e-mail, no phone number with its country code)
    /// is refused (400) rather than warned about.
    pub require_contact: bool,
    /// Whether the account has group rules (kept by `users::group_rules`): a user write of an
    /// account without reads no rules.
    pub has_group_rules: bool,
}

/// An API token: only its SHA-256 is stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    /// UUIDv7.
    pub id: String,
    /// The account it opens.
    pub account_id: String,
    /// A name for people; also the actor recorded in the provisioning log.
    pub label: String,
    /// `scim` or `admin`.
    pub scope: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// The token's first characters, to recognise it in listings.
    pub prefix: String,
    /// When it was issued.
    pub created_at: NaiveDateTime,
    /// When it was last used, to the minute.
    pub last_used_at: Option<NaiveDateTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<NaiveDateTime>,
    /// When it stops opening anything, if ever.
    pub expires_at: Option<NaiveDateTime>,
}

/// A user row: the single-valued attributes of every schema, and the lifecycle fields.
#[derive(
    Debug, Clone, Default, Queryable, QueryableByName, Selectable, Insertable, AsChangeset,
)]
// `None` is written as NULL, never as `DEFAULT`: no column of `users` has a default (the
// migrations), and an insert naming `DEFAULT` is one diesel never caches (issue 25).
#[diesel(
    table_name = users,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct UserRow {
    pub id: String,
    pub account_id: String,
    pub user_name: String,
    pub user_name_ci: String,
    pub external_id: Option<String>,
    pub name_formatted: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub honorific_prefix: Option<String>,
    pub honorific_suffix: Option<String>,
    pub display_name: Option<String>,
    pub nick_name: Option<String>,
    pub profile_url: Option<String>,
    pub title: Option<String>,
    pub user_type: Option<String>,
    pub preferred_language: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub active: bool,
    pub employee_number: Option<String>,
    pub cost_center: Option<String>,
    pub organization: Option<String>,
    pub division: Option<String>,
    pub department: Option<String>,
    pub manager_value: Option<String>,
    pub manager_ref: Option<String>,
    pub company_id: Option<String>,
    pub origin: String,
    pub sign_in: String,
    pub registration: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One element of a user's `emails`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_emails, treat_none_as_default_value = false)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct EmailRow {
    pub user_id: String,
    pub position: i32,
    pub account_id: String,
    pub value: String,
    pub value_ci: String,
    pub display: Option<String>,
    pub kind: Option<String>,
    pub is_primary: Option<bool>,
}

/// One element of a user's `phoneNumbers`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_phone_numbers, treat_none_as_default_value = false)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct PhoneNumberRow {
    pub user_id: String,
    pub position: i32,
    pub account_id: String,
    pub value: String,
    pub value_e164: Option<String>,
    pub display: Option<String>,
    pub kind: Option<String>,
    pub is_primary: Option<bool>,
}

/// One element of a user's `addresses`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_addresses, treat_none_as_default_value = false)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct AddressRow {
    pub user_id: String,
    pub position: i32,
    pub formatted: Option<String>,
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub kind: Option<String>,
    pub is_primary: Option<bool>,
}

/// One element of a user's `roles`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_roles, treat_none_as_default_value = false)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct RoleRow {
    pub user_id: String,
    pub position: i32,
    pub value: String,
    pub display: Option<String>,
    pub kind: Option<String>,
    pub is_primary: Option<bool>,
}

/// A store: an account-level entity keyed by its `refId`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = stores)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct StoreRow {
    pub id: String,
    pub account_id: String,
    pub ref_id: String,
    pub name: Option<String>,
    pub country_calling_code: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// A user's link to a store, in the order the client sent the stores.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_stores, treat_none_as_default_value = false)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct UserStoreRow {
    pub user_id: String,
    pub position: i32,
    pub store_id: String,
    pub is_primary: Option<bool>,
}

/// A provisioning-log entry. `None` is inserted as NULL (the columns have no other default), so
/// the insert has one shape and its prepared statement is cached.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct AuditEventRow {
    pub id: String,
    pub account_id: String,
    pub occurred_at: NaiveDateTime,
    pub actor: String,
    pub token_id: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub code: String,
    pub detail: Option<String>,
}

/// A job of the queue (see [`crate::jobs`]).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs, treat_none_as_default_value = false)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct JobRow {
    pub id: String,
    pub account_id: Option<String>,
    pub name: String,
    pub payload: String,
    pub dedup_key: Option<String>,
    pub priority: i32,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: NaiveDateTime,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

/// When a periodic job runs next (see [`crate::jobs::schedule`]).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = job_schedules)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct JobScheduleRow {
    pub name: String,
    pub next_run_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A group row: its single-valued attributes and version (members live in `group_members`).
#[derive(
    Debug, Clone, Default, Queryable, QueryableByName, Selectable, Insertable, AsChangeset,
)]
#[diesel(table_name = groups, treat_none_as_null = true)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct GroupRow {
    pub id: String,
    pub account_id: String,
    pub display_name: String,
    pub display_name_ci: String,
    pub external_id: Option<String>,
    pub group_type: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub origin: String,
}

/// One membership: a user in a group, made over SCIM (`rule_id` NULL) or by a group rule.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = group_members, treat_none_as_default_value = false)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct GroupMemberRow {
    pub group_id: String,
    pub user_id: String,
    pub account_id: String,
    pub rule_id: Option<String>,
}

/// A group rule: keeps users in the group of `group_type` named after their `attribute`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = group_rules)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct GroupRuleRow {
    pub id: String,
    pub account_id: String,
    pub attribute: String,
    pub group_type: String,
    pub created_at: NaiveDateTime,
}

/// A one-time code that hands a signed-in user to the app; only its SHA-256 is stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sign_in_codes)]
pub struct SignInCodeRow {
    /// Hex SHA-256 of the code.
    pub code_hash: String,
    /// The user's account.
    pub account_id: String,
    /// Who signs in.
    pub user_id: String,
    /// How they proved who they are: `crewplanner` or `invitation`.
    pub via: String,
    /// When it was issued.
    pub created_at: NaiveDateTime,
    /// After this it is refused.
    pub expires_at: NaiveDateTime,
}

/// An app session; only the SHA-256 of its bearer token is stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    /// UUIDv7.
    pub id: String,
    /// The user's account.
    pub account_id: String,
    /// The signed-in user.
    pub user_id: String,
    /// Hex SHA-256 of the session token.
    pub token_hash: String,
    /// How the user signed in: `crewplanner` or `invitation`.
    pub via: String,
    /// When it began.
    pub created_at: NaiveDateTime,
    /// When it ends at the latest.
    pub expires_at: NaiveDateTime,
}

/// What a user chose in the app's onboarding.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = app_profiles, treat_none_as_null = true)]
pub struct AppProfileRow {
    /// The user.
    pub user_id: String,
    /// The user's account.
    pub account_id: String,
    /// The app language chosen (`en`, `nl`, `fr`, `de`).
    pub language: Option<String>,
    /// When the terms and conditions were accepted.
    pub terms_accepted_at: Option<NaiveDateTime>,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
}

/// An account's CrewPlanner integration.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = crewplanner_links, treat_none_as_null = true)]
pub struct CrewPlannerLinkRow {
    /// The account.
    pub account_id: String,
    /// The customer's CrewPlanner subdomain; the expected issuer is made from it.
    pub slug: String,
    /// Whether sign-in through CrewPlanner is on.
    pub enabled: bool,
    /// `platform`, `jwks`, `pem` or `hs256`.
    pub key_kind: String,
    /// The account's own public keys as given, or its HS256 secret encrypted with the server key.
    pub key_material: Option<String>,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
}

/// A CrewPlanner token id already used, kept until the token would have expired.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = used_jtis)]
pub struct UsedJtiRow {
    /// The account.
    pub account_id: String,
    /// The token's `jti`.
    pub jti: String,
    /// When the token expires (with leeway); the row may go after this.
    pub expires_at: NaiveDateTime,
}

/// A pending invitation (see [`crate::invitations`]); the user's name and address stay on the user.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = invitations, treat_none_as_null = true)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct InvitationRow {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    pub created_user: bool,
    pub source: String,
    pub nonce: String,
    pub language: String,
    pub agreement_accepted_at: Option<NaiveDateTime>,
    pub sends: i32,
    pub first_sent_at: NaiveDateTime,
    pub last_sent_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub reminders_sent: i32,
    pub last_reminder: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub delivery_status: String,
    pub delivery_attempts: i32,
    pub delivery_error: Option<String>,
    pub first_delivered_at: Option<NaiveDateTime>,
    pub last_delivered_at: Option<NaiveDateTime>,
}

/// What became of an invitation that is no longer pending (see [`crate::invitations`]): no
/// personal data, kept until `keep_until`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitation_tombstones)]
#[expect(
    missing_docs,
    reason = "each field is the column of the same name; see the migration"
)]
pub struct InvitationTombstoneRow {
    pub id: String,
    pub account_id: String,
    pub nonce: String,
    pub outcome: String,
    pub ended_at: NaiveDateTime,
    pub keep_until: NaiveDateTime,
}

/// A one-time data migration that completed (see [`crate::refold`]).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = data_migrations)]
pub struct DataMigrationRow {
    /// The data migration's name, e.g. `identity_fold_nfkc_casefold`.
    pub name: String,
    /// When it completed.
    pub completed_at: NaiveDateTime,
}

/// An identifier and its folded shadow copy (a userName or a group displayName), as the re-fold
/// of [`crate::refold`] reads them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct ShadowRow {
    /// The row's id.
    pub id: String,
    /// Its account, the scope of the unique index.
    pub account_id: String,
    /// The identifier as sent.
    pub value: String,
    /// The stored shadow value.
    pub shadow: String,
}

/// An e-mail value and its folded shadow copy, keyed like `user_emails`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct EmailShadowRow {
    /// The user.
    pub user_id: String,
    /// The element's position.
    pub position: i32,
    /// The value as sent.
    pub value: String,
    /// The stored shadow value.
    pub shadow: String,
}

/// A one-time code a registered user signs in with again ([`crate::signin`]). The code is not
/// stored: it is derived from the server key, `id` and `nonce`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::sign_in_passcodes)]
pub struct SignInPasscodeRow {
    /// The code's id.
    pub id: String,
    /// The user's account.
    pub account_id: String,
    /// Who signs in with it.
    pub user_id: String,
    /// `email` or `text`.
    pub channel: String,
    /// A keyed digest of the contact it was asked for.
    pub contact_mac: String,
    /// Random; the code is derived from it.
    pub nonce: String,
    /// Wrong codes tried against it so far.
    pub failed_attempts: i32,
    /// When it was issued.
    pub created_at: NaiveDateTime,
    /// After this it is refused.
    pub expires_at: NaiveDateTime,
}

/// An OAuth client of an account (see [`crate::oauth`]): it authenticates with a secret, or with a
/// signed assertion verified by its JWKS (a stored document, or one fetched from `jwks_url`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_clients)]
pub struct OAuthClientRow {
    /// The client id (`client_id` on the wire).
    pub id: String,
    /// The account whose SCIM API it opens.
    pub account_id: String,
    /// Its label, unique in the account: the actor in the provisioning log.
    pub label: String,
    /// Where its JWKS document is fetched (https).
    pub jwks_url: Option<String>,
    /// Its JWKS document, as given from a file.
    pub jwks_document: Option<String>,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// When it was revoked (its access tokens end with it).
    pub revoked_at: Option<NaiveDateTime>,
}

/// A client secret, stored as its SHA-256 only.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_client_secrets)]
pub struct OAuthSecretRow {
    /// Its id.
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The client's account.
    pub account_id: String,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    /// The secret's first characters, to tell secrets apart in a list.
    pub prefix: String,
    /// When it was made.
    pub created_at: NaiveDateTime,
    /// When it stops working.
    pub expires_at: NaiveDateTime,
    /// When it was revoked.
    pub revoked_at: Option<NaiveDateTime>,
}

/// An OAuth access token, stored as its SHA-256 only.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_access_tokens)]
pub struct OAuthAccessTokenRow {
    /// Its id.
    pub id: String,
    /// The account it opens.
    pub account_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The secret the client authenticated with (none for a signed assertion).
    pub secret_id: Option<String>,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// `scim` or `scim.read`.
    pub scope: String,
    /// When it was issued.
    pub created_at: NaiveDateTime,
    /// When it stops working.
    pub expires_at: NaiveDateTime,
}

/// An assertion id (`jti`) a client already used, kept until the assertion would have expired.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_used_jtis)]
pub struct OAuthUsedJtiRow {
    /// The client.
    pub client_id: String,
    /// The assertion's `jti`.
    pub jti: String,
    /// When the assertion expires (with leeway); the row may go after this.
    pub expires_at: NaiveDateTime,
}

/// A console session (`/console`): a browser signed in with an admin token. Only the SHA-256 of the
/// session cookie is stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::console_sessions)]
pub struct ConsoleSessionRow {
    /// Hex SHA-256 of the session cookie's value.
    pub id_hash: String,
    /// The account signed in to.
    pub account_id: String,
    /// The admin token the session was opened with; it ends with the token.
    pub token_id: String,
    /// The synchronizer token of the session's forms.
    pub csrf_secret: String,
    /// When it was opened.
    pub created_at: NaiveDateTime,
    /// When it was last used (written at most once a minute).
    pub last_seen_at: NaiveDateTime,
    /// When it ends, however active (the absolute timeout).
    pub expires_at: NaiveDateTime,
}
