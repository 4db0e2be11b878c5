//! The invitation jobs. Payloads hold ids and numbers only: the send job derives the link from
//! the server key when it runs, so the queue never holds a usable token or any contact data.
//!
//! - `invitations.email` (named when invitations went by e-mail only; stored names never change):
//!   one send (`kind` `send`, the `n`th an admin caused) or reminder (`kind` `reminder`, the `n`th
//!   configured day), by e-mail, or by text message when the invitee has no e-mail address (the
//!   e-mail takes precedence; the channel is chosen when the job runs). Skips an invitation that
//!   is gone or expired, and a reminder already marked sent or overtaken by the next one; marks a
//!   reminder sent after delivering it. The e-mail's `Message-ID` and the text's idempotency
//!   token are those of the logical send (`invitation:<id>:send:<n>`,
//!   `invitation:<id>:reminder:<n>`); the text's body, link included, is built when it runs.
//! - `invitations.expire`: runs at the expiry and ends the invitation ([`super::expire`]).
//! - `invitations.provision`: invites a user SCIM created, when the account asks for it
//!   ([`super::invite_provisioned`]).
//! - `invitations.purge_expired`: hourly, ends whatever expired and was not ended by its own expiry
//!   job (one that failed for good, or was lost with a restored backup): a safety net. It also
//!   removes the tombstones of ended invitations whose time is up.
//!
//! The outcome of every delivery attempt of a send (not of a reminder) is recorded on the
//! invitation through [`super::delivery::record`]: `sent`, `failing` while the queue will retry,
//! `failed` when it will not (a permanent error or the last attempt).
//!
//! The handlers are generic over their context ([`InvitationServices`]); the application's
//! composition root implements it and registers them.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::delivery::Outcome;
use super::{InvitationSettings, storage};
use crate::clock::rfc3339;
use crate::crypto::ServerKey;
use crate::db::DbConn;
use crate::db::models::InvitationRow;
use crate::email::MailError;
use crate::email::job::{Delivered, Delivery, MailServices, deliver};
use crate::email::templates::Language;
use crate::error::ServiceError;
use crate::jobs::schedule::Schedule;
use crate::jobs::{Crashed, EnqueueOptions, JobContext, JobType, Permanent, enqueue};
use crate::sms::TextMessage;
use crate::sms::job::TextServices;
use crate::users::jobs::ProvisionInvitation;

/// What the invitation jobs need of their context, beyond mail and texts: the invitation settings
/// and the server key their links are derived from.
pub trait InvitationServices: MailServices + TextServices {
    /// Reminders, expiry and links.
    fn invitations(&self) -> &InvitationSettings;
    /// The server key (links are derived from it when their e-mail is sent).
    fn server_key(&self) -> &ServerKey;
}

/// The e-mail template of the invitation itself.
pub const INVITATION_TEMPLATE: &str = "invitation";
/// The e-mail template of a reminder.
pub const REMINDER_TEMPLATE: &str = "invitation_reminder";

/// Which e-mail of an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailKind {
    /// The invitation, sent because an admin (or provisioning) caused it.
    Send,
    /// A reminder on a configured day.
    Reminder,
}

/// Send e-mail `n` of `kind` of an invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationEmail {
    /// The invitation.
    pub invitation_id: String,
    /// Send or reminder.
    pub kind: EmailKind,
    /// Which send or reminder (1-based).
    pub n: i32,
}

impl JobType for InvitationEmail {
    const NAME: &'static str = "invitations.email";
}

impl InvitationEmail {
    /// The dedup key, also the `Message-ID` key, of this logical send.
    pub fn key(&self) -> String {
        let kind = match self.kind {
            EmailKind::Send => "send",
            EmailKind::Reminder => "reminder",
        };
        format!("invitation:{}:{kind}:{}", self.invitation_id, self.n)
    }
}

/// End an invitation at its expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireInvitation {
    /// The invitation.
    pub invitation_id: String,
}

impl JobType for ExpireInvitation {
    const NAME: &'static str = "invitations.expire";
}

/// End every invitation that has expired (at most `limit` a run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeExpired {
    /// The most invitations one run ends.
    pub limit: i64,
}

impl JobType for PurgeExpired {
    const NAME: &'static str = "invitations.purge_expired";
}

/// The periodic invitation work: the hourly safety-net purge.
pub fn schedules() -> Vec<Schedule> {
    vec![Schedule {
        name: PurgeExpired::NAME,
        every: Duration::hours(1),
        job: PurgeExpired::NAME,
        payload: serde_json::json!({"limit": 500}),
    }]
}

/// Cancels the invitation's waiting jobs (its e-mails, reminders and expiry): with the invitation
/// gone they have nothing to do. Returns how many.
pub fn cancel_waiting(
    conn: &mut DbConn,
    account_id: &str,
    invitation_id: &str,
) -> diesel::QueryResult<usize> {
    crate::jobs::queue::cancel_waiting_by_prefix(
        conn,
        Some(account_id),
        &format!("invitation:{invitation_id}:"),
    )
}

fn options(account_id: &str, key: String, run_at: NaiveDateTime) -> EnqueueOptions {
    EnqueueOptions {
        account_id: Some(account_id.to_owned()),
        dedup_key: Some(key),
        run_at: Some(run_at),
        ..EnqueueOptions::default()
    }
}

/// Enqueues the e-mail of the invitation's latest send (`sends`), now.
pub fn enqueue_send(
    conn: &mut DbConn,
    row: &InvitationRow,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    let job = InvitationEmail {
        invitation_id: row.id.clone(),
        kind: EmailKind::Send,
        n: row.sends,
    };
    enqueue(conn, &job, options(&row.account_id, job.key(), now), now)?;
    Ok(())
}

/// Cancels the waiting deliveries of the invitation's earlier sends (a resend replaces them).
pub fn cancel_waiting_sends(
    conn: &mut DbConn,
    account_id: &str,
    invitation_id: &str,
) -> diesel::QueryResult<usize> {
    crate::jobs::queue::cancel_waiting_by_prefix(
        conn,
        Some(account_id),
        &format!("invitation:{invitation_id}:send:"),
    )
}

/// Cancels the invitation's waiting reminders and expiry (its clock moved).
pub fn cancel_follow_ups(
    conn: &mut DbConn,
    account_id: &str,
    invitation_id: &str,
) -> diesel::QueryResult<usize> {
    let mut n = 0;
    for what in ["reminder:", "expire"] {
        n += crate::jobs::queue::cancel_waiting_by_prefix(
            conn,
            Some(account_id),
            &format!("invitation:{invitation_id}:{what}"),
        )?;
    }
    Ok(n)
}

/// Schedules everything a new invitation needs: its first e-mail now, a reminder on each
/// configured day before the expiry, and the expiry. In the caller's transaction.
pub fn schedule(
    conn: &mut DbConn,
    settings: &InvitationSettings,
    row: &InvitationRow,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    enqueue_send(conn, row, now)?;
    schedule_follow_ups(conn, settings, row, now)
}

/// Schedules the invitation's reminders on their days after `first_sent_at` (those before the
/// expiry) and its expiry. In the caller's transaction.
pub fn schedule_follow_ups(
    conn: &mut DbConn,
    settings: &InvitationSettings,
    row: &InvitationRow,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    for (i, day) in settings.reminder_days.iter().enumerate() {
        let run_at = row.first_sent_at + Duration::days(*day);
        if run_at >= row.expires_at {
            continue;
        }
        let job = InvitationEmail {
            invitation_id: row.id.clone(),
            kind: EmailKind::Reminder,
            n: i32::try_from(i + 1).expect("at most 20 reminders"),
        };
        enqueue(conn, &job, options(&row.account_id, job.key(), run_at), now)?;
    }
    let expire = ExpireInvitation {
        invitation_id: row.id.clone(),
    };
    enqueue(
        conn,
        &expire,
        options(
            &row.account_id,
            format!("invitation:{}:expire", row.id),
            row.expires_at,
        ),
        now,
    )?;
    Ok(())
}

/// The handler of [`InvitationEmail`].
pub fn send_email<C: InvitationServices>(
    ctx: &JobContext<'_, C>,
    job: InvitationEmail,
) -> anyhow::Result<()> {
    let services = ctx.services;
    let now = ctx.now();
    let row = storage::find_any(&mut *ctx.conn()?, &job.invitation_id)?;
    let Some(row) = row else {
        tracing::info!(job.id = %ctx.job.id, "invitation no longer exists; nothing sent");
        return Ok(());
    };
    if row.expires_at <= now {
        tracing::info!(job.id = %ctx.job.id, "invitation has expired; nothing sent");
        return Ok(());
    }
    if job.kind == EmailKind::Reminder && row.last_reminder >= job.n {
        tracing::info!(job.id = %ctx.job.id, reminder = job.n, "reminder already sent");
        return Ok(());
    }
    // A reminder whose successor is due already (the workers were down) is stale: the successor
    // goes instead, so a backlog never becomes a burst.
    let next_day = usize::try_from(job.n)
        .ok()
        .and_then(|n| services.invitations().reminder_days.get(n));
    if job.kind == EmailKind::Reminder
        && next_day.is_some_and(|day| now >= row.first_sent_at + Duration::days(*day))
    {
        tracing::info!(job.id = %ctx.job.id, reminder = job.n, "reminder overtaken by the next; skipped");
        return Ok(());
    }
    let template = match job.kind {
        EmailKind::Send => INVITATION_TEMPLATE,
        EmailKind::Reminder => REMINDER_TEMPLATE,
    };
    // The first send to go out late restarts the 60 days (see `delivery`): it says the new date.
    let expires_at = match job.kind {
        EmailKind::Send => super::delivery::expiry_if_sent_at(services.invitations(), &row, now),
        EmailKind::Reminder => row.expires_at,
    };
    let link = super::accept_url(services.invitations(), services.server_key(), &row);
    let key = job.key();
    let delivered = channel(ctx, &row).and_then(|channel| match channel {
        Channel::Email => deliver(
            ctx,
            Delivery {
                account_id: &row.account_id,
                template,
                language: Some(&row.language),
                user_id: &row.user_id,
                params: serde_json::json!({
                    "accept_url": link,
                    "expires_at": rfc3339(expires_at),
                    "days_left": (expires_at - now).num_days().max(1),
                }),
                message_key: &key,
            },
        ),
        Channel::Text { to, language } => crate::sms::job::deliver(
            ctx,
            &TextMessage {
                to,
                body: text_body(language, job.kind, &link, expires_at),
                idempotency_key: key.clone(),
            },
        )
        .map(|_| Delivered::Sent),
        Channel::Nobody => Ok(Delivered::Skipped),
    });
    let delivered = match delivered {
        Ok(d) => d,
        Err(e) => {
            if job.kind == EmailKind::Send && !e.is::<Crashed>() {
                let last = e.is::<Permanent>() || ctx.job.attempts >= ctx.job.max_attempts;
                let text = public_error(&e);
                let outcome = if last {
                    Outcome::Failed(text)
                } else {
                    Outcome::Failing(text)
                };
                // The job's own failure is what counts: a failure to record it is only logged.
                if let Err(record_error) = record(ctx, &job, outcome) {
                    tracing::warn!(job.id = %ctx.job.id, error = %record_error, "delivery outcome not recorded");
                }
            }
            return Err(e);
        }
    };
    match (job.kind, delivered) {
        (EmailKind::Reminder, Delivered::Sent) => {
            storage::record_reminder(&mut *ctx.conn()?, &row.id, job.n, now)?;
        }
        (EmailKind::Reminder, Delivered::Skipped) => {}
        (EmailKind::Send, Delivered::Sent) => record(ctx, &job, Outcome::Sent)?,
        (EmailKind::Send, Delivered::Skipped) => record(
            ctx,
            &job,
            Outcome::Failed("the invited user is deactivated; nothing was sent".into()),
        )?,
    }
    Ok(())
}

/// How an invitation reaches its invitee, decided when it is sent: by e-mail when they have an
/// address (the e-mail takes precedence, seed), else by text message to their first phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Channel {
    /// By e-mail ([`deliver`] reads the address).
    Email,
    /// By text message to `to` (E.164), in `language`.
    Text {
        /// The number.
        to: String,
        /// The invitation's language.
        language: Language,
    },
    /// The invitee is gone or deactivated: nothing is sent.
    Nobody,
}

fn channel<C: InvitationServices>(
    ctx: &JobContext<'_, C>,
    row: &InvitationRow,
) -> anyhow::Result<Channel> {
    let mut conn = ctx.conn()?;
    let recipient = ctx
        .services
        .recipient(&mut conn, &row.account_id, &row.user_id)?;
    let Some(recipient) = recipient.filter(|r| r.address.is_none()) else {
        // E-mail, or nobody: the e-mail's delivery reloads the recipient and says which.
        return Ok(Channel::Email);
    };
    if !recipient.active {
        tracing::info!(job.id = %ctx.job.id, "recipient is deactivated; nothing sent");
        return Ok(Channel::Nobody);
    }
    let numbers = crate::users::contact::phone_numbers(&mut conn, &row.account_id, &row.user_id)?;
    let Some(to) = numbers.into_iter().next() else {
        return Err(Permanent(
            "the invited user has neither an e-mail address nor a phone number with its \
             country code"
                .into(),
        )
        .into());
    };
    let language = Language::choose([
        Some(row.language.as_str()),
        recipient.preferred_language.as_deref(),
        recipient.locale.as_deref(),
    ]);
    Ok(Channel::Text { to, language })
}

/// The text message of an invitation (`kind` send) or of a reminder, in `language`: a line, the
/// date it expires and the link. Kept short, in GSM-7 (a unit test counts its segments).
pub fn text_body(
    language: Language,
    kind: EmailKind,
    link: &str,
    expires_at: NaiveDateTime,
) -> String {
    let key = match kind {
        EmailKind::Send => "text.invitation",
        EmailKind::Reminder => "text.invitation_reminder",
    };
    let date = expires_at
        .format(crate::i18n::text(language, "text.date"))
        .to_string();
    crate::i18n::text(language, key)
        .replace("{date}", &date)
        .replace("{link}", link)
}

/// Records an outcome of send `job.n` on the invitation ([`super::delivery::record`]).
fn record<C: InvitationServices>(
    ctx: &JobContext<'_, C>,
    job: &InvitationEmail,
    outcome: Outcome,
) -> anyhow::Result<()> {
    super::delivery::record(
        &mut *ctx.conn()?,
        ctx.services.invitations(),
        &job.invitation_id,
        job.n,
        outcome,
        ctx.now(),
    )?;
    Ok(())
}

/// What an invitation may show of a failed send: the mailer's own words (they carry the mail
/// server's reply code and class, never its text, which may quote the address), the text
/// provider's status and code (never its message, which may quote the number), or ours; anything
/// else is named only by kind, its text stays on the job.
fn public_error(error: &anyhow::Error) -> String {
    if let Some(text) = crate::sms::job::text_error(error) {
        text.summary()
    } else if let Some(mail) = error.downcast_ref::<MailError>() {
        mail.to_string()
    } else if let Some(Permanent(text)) = error.downcast_ref::<Permanent>() {
        text.clone()
    } else {
        "the message could not be prepared (the server's own error; see the job list)".to_owned()
    }
}

/// The handler of [`ExpireInvitation`].
pub fn expire<C: InvitationServices>(
    ctx: &JobContext<'_, C>,
    job: ExpireInvitation,
) -> anyhow::Result<()> {
    let now = ctx.now();
    let registry = crate::scim::schema::Registry::embedded();
    if super::expire(&mut *ctx.conn()?, &registry, &job.invitation_id, now)? {
        tracing::info!(job.id = %ctx.job.id, invitation.id = %job.invitation_id, "invitation expired");
    }
    Ok(())
}

/// The handler of [`ProvisionInvitation`].
pub fn provision<C: InvitationServices>(
    ctx: &JobContext<'_, C>,
    job: ProvisionInvitation,
) -> anyhow::Result<()> {
    let Some(account_id) = ctx.job.account_id.as_deref() else {
        return Err(crate::jobs::Permanent("the job needs an account".into()).into());
    };
    let now = ctx.now();
    let made = super::invite_provisioned(
        &mut *ctx.conn()?,
        ctx.services.invitations(),
        account_id,
        &job.user_id,
        now,
    )?;
    if let Some(row) = made {
        tracing::info!(job.id = %ctx.job.id, invitation.id = %row.id, "invitation made on provisioning");
    }
    Ok(())
}

/// The handler of [`PurgeExpired`].
pub fn purge_expired<C: InvitationServices>(
    ctx: &JobContext<'_, C>,
    job: PurgeExpired,
) -> anyhow::Result<()> {
    let now = ctx.now();
    let mut conn = ctx.conn()?;
    let limit = job.limit.clamp(1, 10_000);
    let purged = storage::purge_tombstones(&mut conn, now, limit)?;
    if purged > 0 {
        tracing::info!(job.id = %ctx.job.id, invitations.tombstones_purged = purged, "tombstones purged");
    }
    let due = storage::expired_ids(&mut conn, now, limit)?;
    if due.is_empty() {
        return Ok(());
    }
    let registry = crate::scim::schema::Registry::embedded();
    let mut ended = 0;
    for id in &due {
        ended += usize::from(super::expire(&mut conn, &registry, id, now)?);
    }
    tracing::info!(job.id = %ctx.job.id, invitations.expired = ended, "expired invitations purged");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::segments::{Encoding, count};

    /// A link as the default `INVITE_URL` makes it: a UUIDv7 id and a 43-character MAC.
    const LINK: &str = "https://app.mobietrain.com/invitation?token=\
                        01934f6c-7d2e-7a41-9b3c-5e8f0a1b2c3d.\
                        AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE";

    /// Every language keeps both texts to at most two GSM-7 segments with a realistic link (none
    /// exceeds); each carries the whole link and the date.
    #[test]
    fn invitation_texts_are_at_most_two_gsm7_segments_in_every_language() {
        let expires = chrono::NaiveDate::from_ymd_opt(2027, 1, 21)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        for language in Language::ALL {
            for kind in [EmailKind::Send, EmailKind::Reminder] {
                let body = text_body(language, kind, LINK, expires);
                let size = count(&body);
                assert_eq!(size.encoding, Encoding::Gsm7, "{body}");
                assert!(size.count <= 2, "{} segments: {body}", size.count);
                assert!(body.ends_with(LINK), "{body}");
                assert!(body.contains("2027") && body.contains("21"), "{body}");
                assert!(!body.contains('{'), "every placeholder filled: {body}");
            }
        }
        assert_ne!(
            text_body(Language::Nl, EmailKind::Send, LINK, expires),
            text_body(Language::Nl, EmailKind::Reminder, LINK, expires)
        );
    }
}
