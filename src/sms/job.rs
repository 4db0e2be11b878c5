//! The generic `text.send` job: one text to one number, and [`deliver`], which domain jobs call to
//! send a text whose body they build when they run (a sign-in code, a link: what must not sit in a
//! payload).
//!
//! The job knows no domain module: it asks its context ([`TextServices`], which the application's
//! composition root implements) for the sender. Following the queue's rules ([`crate::jobs`]): the
//! provider gets the logical send's idempotency key on every attempt, so a retry after a lost
//! answer is not a second text where the provider honours it; a refusal that retrying cannot fix
//! (an invalid number) fails the job at once ([`Permanent`]), with the provider's code and message
//! on the job row. Logs name the job, the encoding and the segment count, never the number or the
//! text.

use serde::{Deserialize, Serialize};

use super::{SentText, TextError, TextMessage, TextSender, segments};
use crate::jobs::{CrashPoint, JobContext, JobType, Permanent, Runtime};

/// What text jobs need of their context: the sender.
pub trait TextServices: Runtime {
    /// Where texts go.
    fn text_sender(&self) -> &dyn TextSender;
}

/// Send `body` to `to`. The body is stored in the job row: never put a secret in it (a sign-in
/// code or an invitation link is built by its own job, which calls [`deliver`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendText {
    /// The recipient, in E.164.
    pub to: String,
    /// The text.
    pub body: String,
    /// Names the logical send; the provider's idempotency token. Default: the job's dedup key,
    /// else its id.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The invitation the text belongs to, when it does (for its delivery status).
    #[serde(default)]
    pub invitation_id: Option<String>,
}

impl JobType for SendText {
    const NAME: &'static str = "text.send";
}

/// The handler of [`SendText`].
pub fn run<C: TextServices>(ctx: &JobContext<'_, C>, job: SendText) -> anyhow::Result<()> {
    let key = job
        .idempotency_key
        .clone()
        .or_else(|| ctx.job.dedup_key.clone())
        .unwrap_or_else(|| format!("job:{}", ctx.job.id));
    deliver(
        ctx,
        &TextMessage {
            to: job.to,
            body: job.body,
            idempotency_key: key,
        },
    )?;
    Ok(())
}

/// Sends one text from a job: counts and logs its segments (never its number or body), maps a
/// refusal retrying cannot fix to [`Permanent`] (the provider's code and message kept), and
/// leaves any other failure to the queue's retry with backoff.
pub fn deliver<C: TextServices>(
    ctx: &JobContext<'_, C>,
    text: &TextMessage,
) -> anyhow::Result<SentText> {
    let size = segments::count(&text.body);
    let sent = ctx.services.text_sender().send(text).map_err(|e| {
        tracing::info!(
            job.id = %ctx.job.id,
            text.error = e.kind(),
            "text not sent"
        );
        if e.is_retryable() {
            anyhow::Error::from(e)
        } else {
            let permanent = Permanent(e.to_string());
            anyhow::Error::from(e).context(permanent)
        }
    })?;
    ctx.crash_point(CrashPoint::AfterSideEffect)?;
    tracing::info!(
        job.id = %ctx.job.id,
        text.encoding = size.encoding.as_str(),
        text.segments = size.count,
        "text sent"
    );
    Ok(sent)
}

/// Whether `error` (a job's) is a text provider's refusal, and which.
pub fn text_error(error: &anyhow::Error) -> Option<&TextError> {
    error.chain().find_map(|e| e.downcast_ref::<TextError>())
}
