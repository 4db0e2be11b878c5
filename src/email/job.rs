//! The generic `send_email` job: one templated message to one user of the job's account.
//!
//! The job knows no domain module: it asks its context ([`MailServices`], which the application's
//! composition root implements) for the mailer, the templates, the recipient and the account's
//! name.
//!
//! The payload names the recipient by user id, not by address: the address, the given name and the
//! language are read when the job runs, so the queue holds no contact data and a changed address is
//! honoured. Following the queue's idempotence rules ([`crate::jobs`]): the job reloads the user and
//! the account; a user that is gone or deactivated is skipped (done, nothing sent); the message's
//! `Message-ID` comes from the logical send, so a repeated delivery after a crash is the same
//! message; the job being marked done is the record that it was sent.

use serde::{Deserialize, Serialize};

use super::templates::{Language, Templates};
use super::{Email, MailError, Mailer, header_text, message_id};
use crate::db::DbConn;
use crate::jobs::{CrashPoint, JobContext, JobType, Permanent, Runtime};

/// The recipient of a message to a user, read when it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The given name, for the greeting and the `To` header.
    pub given_name: Option<String>,
    /// The family name, for the `To` header (`"Ann Peeters" <ann@…>`).
    pub family_name: Option<String>,
    /// The user's `preferredLanguage`.
    pub preferred_language: Option<String>,
    /// The user's `locale`.
    pub locale: Option<String>,
    /// Whether the user is active (a deactivated user is sent nothing).
    pub active: bool,
    /// The address to send to; `None` when the user has none.
    pub address: Option<String>,
}

/// What mail jobs need of their context: the transport, the templates, and the owners of the
/// recipient's data (the application asks its domain modules).
pub trait MailServices: Runtime {
    /// Where e-mail goes.
    fn mailer(&self) -> &dyn Mailer;
    /// The embedded templates.
    fn templates(&self) -> &Templates;
    /// User `user_id` of account `account_id` as a recipient; `None` when there is no such user.
    fn recipient(
        &self,
        conn: &mut DbConn,
        account_id: &str,
        user_id: &str,
    ) -> anyhow::Result<Option<Recipient>>;
    /// The account's name, shown in the subject.
    fn account_name(&self, conn: &mut DbConn, account_id: &str) -> anyhow::Result<String>;
}

/// Send template `template` to user `user_id` of the job's account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendEmail {
    /// The template's name (see [`super::templates::Templates::names`]).
    pub template: String,
    /// A BCP 47 tag; when absent or not written in, the user's `preferredLanguage`, then `locale`,
    /// then English.
    #[serde(default)]
    pub language: Option<String>,
    /// The recipient, a user of the job's account.
    pub user_id: String,
    /// The template's parameters (never a secret). `given_name` and `account_name` are filled in
    /// from the database.
    #[serde(default)]
    pub params: serde_json::Value,
    /// Names the logical send for its `Message-ID` (for instance `invitation:ID:send:2`); default:
    /// the job's dedup key, else its id.
    #[serde(default)]
    pub message_key: Option<String>,
}

impl JobType for SendEmail {
    const NAME: &'static str = "send_email";
}

/// The handler of [`SendEmail`].
pub fn run<C: MailServices>(ctx: &JobContext<'_, C>, job: SendEmail) -> anyhow::Result<()> {
    let Some(account_id) = ctx.job.account_id.as_deref() else {
        return Err(Permanent("send_email needs an account".into()).into());
    };
    let key = job
        .message_key
        .as_deref()
        .or(ctx.job.dedup_key.as_deref())
        .unwrap_or(&ctx.job.id);
    deliver(
        ctx,
        Delivery {
            account_id,
            template: &job.template,
            language: job.language.as_deref(),
            user_id: &job.user_id,
            params: job.params.clone(),
            message_key: key,
        },
    )?;
    Ok(())
}

/// One templated message to one user of an account, as mail jobs send it.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    /// The recipient's account.
    pub account_id: &'a str,
    /// The template's name.
    pub template: &'a str,
    /// A BCP 47 tag; when absent or not written in, the user's `preferredLanguage`, then `locale`,
    /// then English.
    pub language: Option<&'a str>,
    /// The recipient.
    pub user_id: &'a str,
    /// The template's parameters (a JSON object; `given_name` and `account_name` are added).
    pub params: serde_json::Value,
    /// Names the logical send for its `Message-ID`.
    pub message_key: &'a str,
}

/// What became of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// The mailer accepted the message.
    Sent,
    /// The recipient is gone or deactivated: nothing to do.
    Skipped,
}

/// Delivers one message following the queue's rules: the recipient is reloaded (skipped when gone
/// or deactivated), the address, given name and language are read now, and the `Message-ID` is
/// that of the logical send.
pub fn deliver<C: MailServices>(
    ctx: &JobContext<'_, C>,
    d: Delivery<'_>,
) -> anyhow::Result<Delivered> {
    let mut conn = ctx.conn()?;
    let Some(recipient) = ctx.services.recipient(&mut conn, d.account_id, d.user_id)? else {
        tracing::info!(job.id = %ctx.job.id, "recipient no longer exists; nothing sent");
        return Ok(Delivered::Skipped);
    };
    let Recipient {
        given_name,
        family_name,
        preferred_language,
        locale,
        active,
        address,
    } = recipient;
    if !active {
        tracing::info!(job.id = %ctx.job.id, "recipient is deactivated; nothing sent");
        return Ok(Delivered::Skipped);
    }
    let Some(address) = address else {
        return Err(Permanent("the recipient has no e-mail address".into()).into());
    };
    let account_name = ctx.services.account_name(&mut conn, d.account_id)?;
    drop(conn);

    // The given name greets the user in a single line; the full name stands in the `To` header;
    // the account's name stands in the subject. Rows may hold control characters from before the
    // input rules refused them: they are removed here, so no typed value reaches a header raw.
    let given_name = given_name
        .as_deref()
        .map(header_text)
        .filter(|n| !n.is_empty());
    let full_name = header_text(&format!(
        "{} {}",
        given_name.as_deref().unwrap_or_default(),
        family_name.as_deref().unwrap_or_default()
    ));
    let account_name = header_text(&account_name);
    let language = Language::choose([d.language, preferred_language.as_deref(), locale.as_deref()]);
    let mut params = match d.params {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => serde_json::Map::new(),
        _ => return Err(Permanent("params must be a JSON object".into()).into()),
    };
    params.insert("given_name".into(), given_name.into());
    params.insert("account_name".into(), account_name.into());
    let rendered = ctx
        .services
        .templates()
        .render(d.template, language, &serde_json::Value::Object(params))
        .map_err(|e| Permanent(e.to_string()))?;
    let email = Email {
        to: address,
        to_name: Some(full_name).filter(|n| !n.is_empty()),
        subject: header_text(&rendered.subject),
        text: rendered.text,
        html: rendered.html,
        message_id: message_id(d.message_key, d.template, ctx.services.mailer().domain()),
    };
    ctx.services.mailer().send(&email).map_err(|e| match e {
        // A message that cannot be built will not build on a retry either.
        MailError::Build(_) => anyhow::Error::from(Permanent(e.to_string())),
        other => other.into(),
    })?;
    ctx.crash_point(CrashPoint::AfterSideEffect)?;
    tracing::info!(job.id = %ctx.job.id, email.template = %d.template, email.language = language.as_str(), "e-mail sent");
    Ok(Delivered::Sent)
}
