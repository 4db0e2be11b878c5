//! Every text of the console, in one catalog keyed by a stable name, so Dutch, French and German can
//! follow as catalogs of the same keys. Templates ask for a text with `t("key", name=value)`;
//! `{name}` in a text is replaced by the named value (escaped by the template like any value).
//! A key missing from the catalog is an error, so a page never shows a raw key.

/// The English catalog.
const EN: &[(&str, &str)] = &[
    ("app.title", "MobieTrain console"),
    ("app.account", "Account: {name}"),
    ("app.signed_in_as", "Signed in with the token “{label}”"),
    ("nav.home", "Home"),
    ("nav.invitations", "Invited users"),
    ("nav.invite", "Invite user"),
    ("nav.users", "Users"),
    ("nav.groups", "Groups"),
    ("nav.stores", "Stores"),
    ("nav.log", "Provisioning log"),
    ("nav.tokens", "Tokens"),
    ("nav.sign_out", "Sign out"),
    ("nav.skip", "Skip to the content"),
    // Sign-in
    ("sign_in.title", "Sign in"),
    (
        "sign_in.intro",
        "Sign in with an admin token of your account. The token stays on the server: your browser only keeps a session cookie, which ends when you sign out, after 30 minutes without use, after 12 hours, or when the token is revoked or expires.",
    ),
    ("sign_in.token", "Admin token"),
    (
        "sign_in.token_rule",
        "Starts with mts_. Issue one with: mobietrain-scim token issue --account <id> --scope admin --label \"<your name>\"",
    ),
    ("sign_in.submit", "Sign in"),
    (
        "sign_in.unknown",
        "This token is not valid: it is unknown or has been revoked.",
    ),
    (
        "sign_in.wrong_scope",
        "This is a SCIM token. The console needs an admin token (--scope admin).",
    ),
    ("sign_in.empty", "Paste your admin token."),
    (
        "sign_in.throttled",
        "Too many failed sign-ins from this address. Try again after {at}.",
    ),
    ("sign_in.signed_out", "You are signed out."),
    // Errors
    ("error.title", "Something went wrong"),
    (
        "error.csrf",
        "This form has expired or did not come from this console. Go back, reload the page and try again.",
    ),
    ("error.not_found", "This page or item does not exist."),
    (
        "error.internal",
        "The server could not do this. Try again; if it keeps failing, tell your MobieTrain contact.",
    ),
    ("error.back", "Back to the console"),
    // Home
    ("home.title", "Console"),
    (
        "home.intro",
        "Manage the people and groups of your account in MobieTrain.",
    ),
    (
        "home.invitations",
        "People invited by e-mail who have not registered yet: markers, resend, withdraw.",
    ),
    (
        "home.invite",
        "Invite a new user to the MobieTrain app by e-mail.",
    ),
    (
        "home.groups",
        "The user groups of the account, and new ones.",
    ),
    (
        "home.log",
        "Every change, warning and refusal, with what changed.",
    ),
    (
        "home.tokens",
        "The account's API tokens: issue one to a person, revoke one.",
    ),
    (
        "home.users",
        "Everyone in the account: search, a user's groups, stores, origin, registration and warnings.",
    ),
    (
        "home.stores",
        "The account's stores with their users; rename one.",
    ),
    // The pager of every listing
    ("pager.label", "Pages"),
    ("pager.previous", "Previous page"),
    ("pager.next", "Next page"),
    ("pager.position", "Page {page} of {pages}"),
    // Invited users
    ("invitations.title", "Invited users"),
    (
        "invitations.intro",
        "People stay here until they register, for at most 60 days. The marker turns yellow 7 days and red 3 days before the invitation expires. Resend is available again 24 hours after it was last used.",
    ),
    ("invitations.name", "Name"),
    ("invitations.contact", "Contact"),
    ("invitations.groups", "Groups"),
    ("invitations.invited_on", "Invited on"),
    ("invitations.expires_on", "Expires on"),
    ("invitations.status", "Status"),
    ("invitations.actions", "Actions"),
    ("invitations.resend", "Resend"),
    ("invitations.resend_available", "available at {at}"),
    ("invitations.withdraw", "Withdraw"),
    ("invitations.none", "No invited users match."),
    ("invitations.filter_marker", "Marker"),
    ("invitations.filter_any", "Any"),
    ("invitations.search", "Search name or e-mail"),
    ("invitations.apply", "Apply"),
    ("invitations.count", "{shown} of {total} invited users"),
    ("invitations.filter_delivery", "Delivery"),
    ("invitations.no_name", "(no name)"),
    ("invitations.reminders", "{n} reminders sent"),
    ("delivery.queued", "Waiting to be sent"),
    ("delivery.sent", "Sent"),
    ("delivery.failing", "Failing, retrying"),
    ("delivery.failed", "Failed"),
    ("delivery.queued_email", "E-mail waiting to be sent."),
    ("delivery.queued_text", "Text message waiting to be sent."),
    ("delivery.sent_email", "E-mail sent on {at}."),
    ("delivery.sent_text", "Text message sent on {at}."),
    (
        "delivery.failing_email",
        "The e-mail could not be sent yet: {reason}. Trying again (attempt {n}).",
    ),
    (
        "delivery.failing_text",
        "The text message could not be sent yet: {reason}. Trying again (attempt {n}).",
    ),
    (
        "delivery.failed_email",
        "The e-mail failed: {reason}. Check the address, then resend.",
    ),
    (
        "delivery.failed_text",
        "The text message failed: {reason}. Check the number, then resend.",
    ),
    ("delivery.no_reason", "no reason given"),
    ("marker.ok", "Green"),
    ("marker.yellow", "Yellow"),
    ("marker.red", "Red"),
    ("marker.expires_in_days", "expires in {n} days"),
    ("marker.expires_in_one_day", "expires in 1 day"),
    ("marker.expires_today", "expires within a day"),
    ("marker.expired", "expired"),
    ("notice.invited", "The invitation is on its way."),
    ("notice.resent", "The invitation was sent again."),
    (
        "notice.resend_refused",
        "Not sent: this invitation was sent less than 24 hours ago. Resend is available again at the time shown.",
    ),
    (
        "notice.withdrawn",
        "The invitation was withdrawn; its link no longer works.",
    ),
    ("notice.group_created", "The group was created."),
    ("notice.group_renamed", "The group was renamed."),
    ("notice.token_revoked", "The token was revoked."),
    ("notice.store_renamed", "The store was renamed."),
    (
        "notice.gone",
        "That invitation no longer exists (registered, expired or withdrawn).",
    ),
    // Withdraw
    ("withdraw.title", "Withdraw the invitation?"),
    (
        "withdraw.explain",
        "{name} will not be able to register with the link they received. A user created by this invitation is deleted with it.",
    ),
    ("withdraw.confirm", "Yes, withdraw"),
    ("withdraw.cancel", "No, keep it"),
    // Invite
    ("invite.title", "Invite user"),
    (
        "invite.intro",
        "The person receives a link to register for the MobieTrain app: by e-mail, or by text message when you give only a mobile phone number.",
    ),
    (
        "invite.failed",
        "The invitation was not sent. Correct the fields marked below.",
    ),
    ("invite.given_name", "First name"),
    (
        "invite.given_name_rule",
        "Required, at most 255 characters.",
    ),
    ("invite.family_name", "Last name"),
    (
        "invite.family_name_rule",
        "Required, at most 255 characters.",
    ),
    ("invite.email", "E-mail address"),
    (
        "invite.email_rule",
        "E-mail and/or mobile phone; e-mail takes precedence. Must not belong to a user of the account already.",
    ),
    ("invite.phone", "Mobile phone number"),
    (
        "invite.phone_rule",
        "E-mail and/or mobile phone; e-mail takes precedence. With its country code (+32 470 12 34 56). Without an e-mail address, the invitation and its reminders go by text message to this number.",
    ),
    ("invite.job_position", "Job position"),
    ("invite.job_position_rule", "Optional."),
    ("invite.company_id", "User/Company ID"),
    ("invite.company_id_rule", "Optional."),
    ("invite.groups", "User groups"),
    (
        "invite.groups_rule",
        "Choose at least one: without a group the user sees no learning content.",
    ),
    (
        "invite.no_groups",
        "The account has no groups yet: create one first.",
    ),
    ("invite.role", "Role"),
    ("invite.role_user", "User"),
    ("invite.role_manager", "Manager"),
    ("invite.role_rule", "A manager needs at least one store."),
    ("invite.stores", "Stores"),
    (
        "invite.stores_rule",
        "Required for a manager (without one a manager cannot get past the language choice in the app); optional for a user. A store has a reference id, a name and its country calling code (32 for Belgium).",
    ),
    ("invite.store_ref", "Store reference id"),
    ("invite.store_name", "Store name"),
    ("invite.store_country", "Country calling code"),
    ("invite.language", "Language of the invitation"),
    (
        "invite.language_rule",
        "The invitation and its reminders are written in it.",
    ),
    (
        "invite.agreement",
        "I accept the user agreement on behalf of my company.",
    ),
    ("invite.agreement_rule", "Required."),
    ("invite.submit", "Invite"),
    ("language.en", "English"),
    ("language.nl", "Dutch"),
    ("language.fr", "French"),
    ("language.de", "German"),
    // Users
    ("users.title", "Users"),
    (
        "users.intro",
        "Everyone in the account, however they came: provisioned by your identity provider (SCIM), invited, or signed in from CrewPlanner.",
    ),
    (
        "users.search",
        "Search name, e-mail, userName or external id",
    ),
    ("users.apply", "Search"),
    ("users.count", "{shown} of {total} users"),
    ("users.none", "No users match."),
    ("users.name", "Name"),
    ("users.contact", "Contact"),
    ("users.groups", "Groups"),
    ("users.stores", "Stores"),
    ("users.origin", "Came from"),
    ("users.state", "State"),
    ("users.warnings", "Warnings"),
    ("users.nothing", "—"),
    ("users.active", "active"),
    ("users.deactivated", "deactivated"),
    (
        "users.warn_no_contact",
        "no e-mail or phone number: cannot be invited or sent a sign-in code",
    ),
    (
        "users.warn_no_group",
        "in no group: sees no learning content",
    ),
    ("users.of_store", "Users of the store {store}."),
    ("users.of_group", "Members of one group."),
    ("users.all", "Show all users"),
    ("users.failed", "This search cannot be run: {detail}"),
    ("users.back", "← All users"),
    ("users.user_name", "userName"),
    ("users.external_id", "External id"),
    ("users.emails", "E-mail addresses"),
    ("users.phones", "Phone numbers"),
    ("users.roles", "Roles"),
    ("users.job_title", "Job position"),
    ("users.company_id", "User/Company ID"),
    ("users.department", "Department"),
    ("users.language", "Language"),
    ("users.created", "Created"),
    ("users.updated", "Last changed"),
    ("users.id", "Id"),
    ("users.logged_warnings", "Warnings in the provisioning log"),
    ("users.no_logged_warnings", "None."),
    (
        "users.logged_more",
        "The latest are shown; there are {n} in all.",
    ),
    (
        "users.see_log",
        "Everything the provisioning log holds about this user",
    ),
    ("origin.scim", "Identity provider (SCIM)"),
    ("origin.invitation", "Invitation"),
    ("origin.crewplanner", "CrewPlanner"),
    ("origin.admin", "This console or the admin API"),
    ("origin.rule", "A group rule"),
    ("origin.other", "Other"),
    ("registration.invited", "invited"),
    ("registration.registered", "registered"),
    ("registration.other", "unknown"),
    // Stores
    ("stores.title", "Stores"),
    (
        "stores.intro",
        "Stores come with the users that name them (by reference id). A user's write never renames a store: rename it here, and every user of the store shows the new name.",
    ),
    ("stores.count", "{total} stores"),
    ("stores.count_one", "1 store"),
    ("stores.none", "The account has no stores yet."),
    ("stores.ref_id", "Reference id"),
    ("stores.name", "Name"),
    ("stores.no_name", "(no name)"),
    ("stores.calling_code", "Country calling code"),
    ("stores.users", "Users"),
    ("stores.user_count", "{n} users"),
    ("stores.user_count_one", "1 user"),
    ("stores.rename", "New name"),
    ("stores.rename_submit", "Rename"),
    ("stores.name_rule", "1 to 255 characters, on one line."),
    (
        "stores.failed",
        "The store was not renamed. Correct the name marked below.",
    ),
    // Groups
    ("groups.title", "Groups"),
    ("groups.name", "Name"),
    ("groups.type", "Type"),
    ("groups.external_id", "User group ID"),
    ("groups.none", "The account has no groups yet."),
    ("groups.no_type", "(none)"),
    ("groups.members", "Members"),
    ("groups.member_count", "{n} members"),
    ("groups.member_count_one", "1 member"),
    ("groups.origin", "Made by"),
    (
        "groups.managed",
        "Managed by your identity provider: rename it there.",
    ),
    ("groups.search", "Search by name"),
    ("groups.apply", "Search"),
    ("groups.create", "Create a group"),
    (
        "groups.name_rule",
        "Required, unique in the account, at most 255 characters.",
    ),
    (
        "groups.type_rule",
        "Optional: what the group stands for, such as Department, Region or Store.",
    ),
    ("groups.create_submit", "Create group"),
    ("groups.rename", "New name"),
    ("groups.rename_submit", "Rename"),
    ("groups.failed", "The group was not saved: {detail}"),
    ("groups.count", "{total} groups"),
    ("groups.count_one", "1 group"),
    // Log
    ("log.title", "Provisioning log"),
    ("log.when", "When"),
    ("log.who", "Who"),
    ("log.what", "What"),
    ("log.resource", "Resource"),
    ("log.changes", "Changes"),
    ("log.filter_user", "User id"),
    ("log.filter_action", "Action"),
    ("log.filter_any", "Any"),
    ("log.filter_warnings", "Only warnings"),
    ("log.filter_refusals", "Only refusals"),
    ("log.apply", "Apply"),
    ("log.none", "No entries match."),
    ("log.count", "{shown} of {total} entries"),
    ("log.attribute", "Attribute"),
    ("log.before", "Before"),
    ("log.after", "After"),
    ("log.nothing", "—"),
    (
        "log.bad_user",
        "A user id is at most 64 characters, without spaces.",
    ),
    // Tokens
    ("tokens.title", "Tokens"),
    (
        "tokens.intro",
        "An admin token opens this console and the admin API; a SCIM token is what an identity provider (Entra ID, Okta) uses. Issue each to one person or system, named in its label: the label is who acted in the provisioning log.",
    ),
    ("tokens.label", "Label"),
    ("tokens.scope", "Scope"),
    ("tokens.prefix", "Starts with"),
    ("tokens.created", "Issued"),
    ("tokens.last_used", "Last used"),
    ("tokens.state", "State"),
    ("tokens.live", "live"),
    ("tokens.revoked", "revoked on {at}"),
    ("tokens.never", "never"),
    ("tokens.revoke", "Revoke"),
    ("tokens.expires", "Expires"),
    ("tokens.expiry", "Expires"),
    ("tokens.expires_in_days", "in {n} days"),
    ("tokens.expires_never", "never"),
    (
        "tokens.expires_rule",
        "An expired token opens nothing, and its sessions end. Choose never only for a system you watch.",
    ),
    ("tokens.expired", "expired"),
    ("tokens.issued_expires", "It expires on {at}."),
    (
        "tokens.issued_never",
        "It never expires: revoke it when it is no longer needed.",
    ),
    ("tokens.bad_expiry", "choose one of the expiries offered"),
    ("tokens.this_session", "(this session)"),
    ("tokens.issue", "Issue a token"),
    (
        "tokens.label_rule",
        "The person or system it is for; 1 to 255 characters.",
    ),
    ("tokens.issue_submit", "Issue token"),
    ("tokens.failed", "No token was issued: {detail}"),
    ("tokens.issued_title", "Your new token"),
    (
        "tokens.issued_once",
        "Copy it now: it is shown only this once and cannot be shown again. Store it in a password manager.",
    ),
    ("tokens.issued_for", "Issued to “{label}”, scope {scope}."),
    ("tokens.back", "Back to the tokens"),
    ("tokens.bad_scope", "choose admin or scim"),
];

/// The text of `key` in the catalog, if there is one.
pub fn text(key: &str) -> Option<&'static str> {
    EN.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// The text of `key` with each `{name}` replaced by its value in `args`.
pub fn format(key: &str, args: &[(&str, String)]) -> Option<String> {
    let mut out = text(key)?.to_owned();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_placeholders_are_filled() {
        let mut keys: Vec<_> = EN.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "a key is in the catalog twice");
        assert_eq!(
            format("marker.expires_in_days", &[("n", "2".into())]).as_deref(),
            Some("expires in 2 days")
        );
        assert!(text("no.such.key").is_none());
    }
}
