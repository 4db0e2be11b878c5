//! The admin API's wire shapes: the domain returns rows and structs, and these typed views say what
//! of them the admin API shows, under which names (camelCase, times in RFC 3339).

use serde::Serialize;
use serde_json::Value;

use crate::clock::rfc3339;
use crate::db::models::{Account, AuditEventRow, GroupRuleRow, JobRow};
use crate::invitations::Invitation;
use crate::stores::StoreSummary;

/// A provisioning-log event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent<'a> {
    id: &'a str,
    occurred_at: String,
    actor: &'a str,
    action: &'a str,
    resource_type: &'a str,
    resource_id: Option<&'a str>,
    code: &'a str,
    /// The stored detail, as the JSON document it is.
    detail: Option<Value>,
}

impl<'a> From<&'a AuditEventRow> for AuditEvent<'a> {
    fn from(row: &'a AuditEventRow) -> Self {
        Self {
            id: &row.id,
            occurred_at: rfc3339(row.occurred_at),
            actor: &row.actor,
            action: &row.action,
            resource_type: &row.resource_type,
            resource_id: row.resource_id.as_deref(),
            code: &row.code,
            detail: row
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
        }
    }
}

/// A page of the provisioning log.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage<'a> {
    /// How many events match in all.
    pub total_results: i64,
    /// The 1-based index of the first event shown.
    pub start_index: u64,
    /// How many events are shown.
    pub items_per_page: usize,
    /// The events, newest first.
    pub events: Vec<AuditEvent<'a>>,
}

/// A background job (its payload stays inside; what it is for is named by id).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job<'a> {
    id: &'a str,
    name: &'a str,
    /// The invitation the job is for, if it is for one.
    invitation_id: Option<String>,
    /// The user the job is for, if it is for one.
    user_id: Option<String>,
    state: &'a str,
    attempts: i32,
    max_attempts: i32,
    priority: i32,
    run_at: String,
    last_error: Option<&'a str>,
    created: String,
    last_modified: String,
    finished: Option<String>,
}

impl<'a> From<&'a JobRow> for Job<'a> {
    fn from(row: &'a JobRow) -> Self {
        let subject = super::jobs::subject(row);
        Self {
            id: &row.id,
            name: &row.name,
            invitation_id: subject.invitation_id,
            user_id: subject.user_id,
            state: &row.state,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            priority: row.priority,
            run_at: rfc3339(row.run_at),
            last_error: row.last_error.as_deref(),
            created: rfc3339(row.created_at),
            last_modified: rfc3339(row.updated_at),
            finished: row.finished_at.map(rfc3339),
        }
    }
}

/// A list of jobs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobList<'a> {
    /// How many jobs are shown.
    pub items_per_page: usize,
    /// The jobs.
    pub jobs: Vec<Job<'a>>,
}

/// A group rule.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRule<'a> {
    id: &'a str,
    attribute: &'a str,
    group_type: &'a str,
    created: String,
}

impl<'a> From<&'a GroupRuleRow> for GroupRule<'a> {
    fn from(row: &'a GroupRuleRow) -> Self {
        Self {
            id: &row.id,
            attribute: &row.attribute,
            group_type: &row.group_type,
            created: rfc3339(row.created_at),
        }
    }
}

/// Every group rule of the account.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRuleList<'a> {
    /// How many rules there are.
    pub total_results: usize,
    /// The rules.
    pub rules: Vec<GroupRule<'a>>,
}

/// The account's settings.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings<'a> {
    id: &'a str,
    name: &'a str,
    require_external_id: bool,
    require_contact: bool,
    invite_on_provision: bool,
    default_language: &'a str,
    invite_agreement_accepted_at: Option<String>,
}

impl<'a> From<&'a Account> for Settings<'a> {
    fn from(account: &'a Account) -> Self {
        Self {
            id: &account.id,
            name: &account.name,
            require_external_id: account.require_external_id,
            require_contact: account.require_contact,
            invite_on_provision: account.invite_on_provision,
            default_language: &account.default_language,
            invite_agreement_accepted_at: account.invite_agreement_accepted_at.map(rfc3339),
        }
    }
}

/// A store, with how many users it has.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Store<'a> {
    id: &'a str,
    ref_id: &'a str,
    name: Option<&'a str>,
    country_calling_code: &'a str,
    user_count: i64,
}

impl<'a> From<&'a StoreSummary> for Store<'a> {
    fn from(s: &'a StoreSummary) -> Self {
        Self {
            id: &s.store.id,
            ref_id: &s.store.ref_id,
            name: s.store.name.as_deref(),
            country_calling_code: &s.store.country_calling_code,
            user_count: s.user_count,
        }
    }
}

/// A page of stores.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorePage<'a> {
    /// How many stores the account has.
    pub total_results: i64,
    /// The 1-based index of the first store shown.
    pub start_index: u64,
    /// How many stores are shown.
    pub items_per_page: usize,
    /// The stores, by ref id.
    pub stores: Vec<Store<'a>>,
}

/// A page of invitations.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationPage {
    /// How many pending invitations the account has.
    pub total_results: i64,
    /// The 1-based index of the first invitation shown.
    pub start_index: u64,
    /// How many invitations are shown.
    pub items_per_page: usize,
    /// The invitations, soonest expiry first.
    pub invitations: Vec<Invitation>,
}
