//! `sign_in.send_code`: sends one issued code by e-mail or text. The payload is the code row's id:
//! the job derives the code from the server key when it runs ([`super::derive`]), so the queue
//! never holds it. Following the queue's rules: a code that is gone (used, replaced, void) or
//! expired is skipped; the e-mail's `Message-ID` and the text's idempotency token are those of
//! the logical send (`sign-in:<id>`), so a retry is recognisably the same message.

use serde::{Deserialize, Serialize};

use super::{CODE_LIFETIME, channel, storage};
use crate::crypto::ServerKey;
use crate::email::job::{Delivery, MailServices, deliver};
use crate::email::templates::Language;
use crate::jobs::{JobContext, JobType};
use crate::sms::TextMessage;
use crate::sms::job::TextServices;

/// What the sign-in job needs of its context: mail, texts and the server key.
pub trait SignInServices: MailServices + TextServices {
    /// The server key codes are derived from.
    fn server_key(&self) -> &ServerKey;
}

/// The e-mail template of a code.
pub const TEMPLATE: &str = "sign_in_code";

/// Send the code of passcode row `passcode_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendCode {
    /// The code row.
    pub passcode_id: String,
}

impl JobType for SendCode {
    const NAME: &'static str = "sign_in.send_code";
}

impl SendCode {
    /// The dedup key, also the `Message-ID` key and the text's idempotency token.
    pub fn key(&self) -> String {
        format!("sign-in:{}", self.passcode_id)
    }
}

/// The handler of [`SendCode`].
pub fn send_code<C: SignInServices>(ctx: &JobContext<'_, C>, job: SendCode) -> anyhow::Result<()> {
    let now = ctx.now();
    let mut conn = ctx.conn()?;
    let Some(row) = storage::find(&mut conn, &job.passcode_id)? else {
        tracing::info!(job.id = %ctx.job.id, "sign-in code no longer exists; nothing sent");
        return Ok(());
    };
    if row.expires_at <= now {
        tracing::info!(job.id = %ctx.job.id, "sign-in code has expired; nothing sent");
        return Ok(());
    }
    let code = super::derive(ctx.services.server_key(), &row.id, &row.nonce);
    let key = job.key();
    if row.channel == channel::EMAIL {
        drop(conn);
        deliver(
            ctx,
            Delivery {
                account_id: &row.account_id,
                template: TEMPLATE,
                language: None,
                user_id: &row.user_id,
                params: serde_json::json!({
                    "code": code,
                    "minutes": CODE_LIFETIME.num_minutes(),
                }),
                message_key: &key,
            },
        )?;
        return Ok(());
    }
    let Some(recipient) = ctx
        .services
        .recipient(&mut conn, &row.account_id, &row.user_id)?
    else {
        tracing::info!(job.id = %ctx.job.id, "recipient no longer exists; nothing sent");
        return Ok(());
    };
    if !recipient.active {
        tracing::info!(job.id = %ctx.job.id, "recipient is deactivated; nothing sent");
        return Ok(());
    }
    // The number the code was asked for: the user's number whose digest the row keeps.
    let numbers = crate::users::contact::phone_numbers(&mut conn, &row.account_id, &row.user_id)?;
    drop(conn);
    let to = numbers.into_iter().find(|n| {
        super::contact_mac(
            ctx.services.server_key(),
            &crate::users::contact::Contact::Phone(n.clone()),
        ) == row.contact_mac
    });
    let Some(to) = to else {
        tracing::info!(job.id = %ctx.job.id, "the number is no longer the user's; nothing sent");
        return Ok(());
    };
    let language = Language::choose([
        recipient.preferred_language.as_deref(),
        recipient.locale.as_deref(),
    ]);
    let body = crate::i18n::text(language, "text.sign_in_code").replace("{code}", &code);
    crate::sms::job::deliver(
        ctx,
        &TextMessage {
            to,
            body,
            idempotency_key: key,
        },
    )?;
    Ok(())
}
