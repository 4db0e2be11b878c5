//! The admin API's wire shapes for groups, users and tokens (camelCase, times in RFC 3339): what
//! of the domain's summaries the CMS sees. Never a token's hash.

use serde::Serialize;

use crate::clock::rfc3339;
use crate::db::models::ApiToken;
use crate::groups::admin::GroupSummary;
use crate::scim::etag::etag;
use crate::users::directory::{Named, UserSummary};

/// A group, with its member count and whether an identity provider manages it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group<'a> {
    id: &'a str,
    display_name: &'a str,
    group_type: Option<&'a str>,
    external_id: Option<&'a str>,
    member_count: i64,
    /// Made over SCIM: the admin API does not rename or delete it.
    managed_by_identity_provider: bool,
    /// `scim`, `admin`, `rule` or `crewplanner`.
    origin: &'a str,
    version: String,
    created: String,
    last_modified: String,
}

impl<'a> From<&'a GroupSummary> for Group<'a> {
    fn from(g: &'a GroupSummary) -> Self {
        Self {
            id: &g.row.id,
            display_name: &g.row.display_name,
            group_type: g.row.group_type.as_deref(),
            external_id: g.row.external_id.as_deref(),
            member_count: g.member_count,
            managed_by_identity_provider: g.managed_by_identity_provider(),
            origin: &g.row.origin,
            version: etag(g.row.version),
            created: rfc3339(g.row.created_at),
            last_modified: rfc3339(g.row.updated_at),
        }
    }
}

/// A page of groups.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPage<'a> {
    /// How many groups match in all.
    pub total_results: i64,
    /// The 1-based index of the first group shown.
    pub start_index: u64,
    /// How many groups are shown.
    pub items_per_page: usize,
    /// The groups, by name.
    pub groups: Vec<Group<'a>>,
}

/// A group or a store a user belongs to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ref_id: Option<&'a str>,
    name: Option<&'a str>,
}

impl<'a> From<&'a Named> for Membership<'a> {
    fn from(n: &'a Named) -> Self {
        Self {
            id: &n.id,
            ref_id: n.ref_id.as_deref(),
            name: n.name.as_deref(),
        }
    }
}

/// A user as the directory lists them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User<'a> {
    id: &'a str,
    user_name: &'a str,
    given_name: Option<&'a str>,
    family_name: Option<&'a str>,
    display_name: Option<&'a str>,
    email: Option<&'a str>,
    phone_number: Option<&'a str>,
    origin: &'a str,
    registration: &'a str,
    active: bool,
    groups: Vec<Membership<'a>>,
    stores: Vec<Membership<'a>>,
}

impl<'a> From<&'a UserSummary> for User<'a> {
    fn from(u: &'a UserSummary) -> Self {
        Self {
            id: &u.id,
            user_name: &u.user_name,
            given_name: u.given_name.as_deref(),
            family_name: u.family_name.as_deref(),
            display_name: u.display_name.as_deref(),
            email: u.email.as_deref(),
            phone_number: u.phone_number.as_deref(),
            origin: &u.origin,
            registration: &u.registration,
            active: u.active,
            groups: u.groups.iter().map(Membership::from).collect(),
            stores: u.stores.iter().map(Membership::from).collect(),
        }
    }
}

/// A page of users.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPage<'a> {
    /// How many users match in all.
    pub total_results: i64,
    /// The 1-based index of the first user shown.
    pub start_index: u64,
    /// How many users are shown.
    pub items_per_page: usize,
    /// The users, oldest first.
    pub users: Vec<User<'a>>,
}

/// An API token as listed: never its hash, only its first characters.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Token<'a> {
    id: &'a str,
    label: &'a str,
    scope: &'a str,
    prefix: &'a str,
    created_at: String,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    revoked_at: Option<String>,
}

impl<'a> From<&'a ApiToken> for Token<'a> {
    fn from(t: &'a ApiToken) -> Self {
        Self {
            id: &t.id,
            label: &t.label,
            scope: &t.scope,
            prefix: &t.prefix,
            created_at: rfc3339(t.created_at),
            last_used_at: t.last_used_at.map(rfc3339),
            expires_at: t.expires_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
        }
    }
}

/// A token just issued: the token itself, shown this once, and its listing.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken<'a> {
    /// The bearer token; only its hash is kept.
    pub token: &'a str,
    /// The token as listed.
    #[serde(flatten)]
    pub listed: Token<'a>,
}

/// Every token of the account.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenList<'a> {
    /// How many tokens there are (revoked and expired ones included).
    pub total_results: usize,
    /// The tokens, oldest first.
    pub tokens: Vec<Token<'a>>,
}
