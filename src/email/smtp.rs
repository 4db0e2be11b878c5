//! SMTP delivery through lettre's blocking transport (no async runtime), TLS by rustls on aws-lc-rs.
//!
//! The server comes from `SMTP_URL`: `smtp://host:2525` (plain, for local servers),
//! `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://user:pass@host` (TLS from the
//! start). The URL carries the password, so it is never logged, stored or shown in `Debug`.

use lettre::message::{Mailbox, MultiPart};
use lettre::{Message, SmtpTransport, Transport};

use super::{Email, MailError, Mailer, Sender};

/// Delivers mail to one SMTP server.
pub struct SmtpMailer {
    transport: SmtpTransport,
    from: Mailbox,
    domain: String,
    host: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it holds the password.
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for the server `url` names, sending as `sender`.
    pub fn new(url: &str, sender: &Sender) -> Result<Self, MailError> {
        // lettre's error text may quote the URL; say only what is wrong in general terms.
        let transport = SmtpTransport::from_url(url)
            .map_err(|_| {
                MailError::Build(
                    "SMTP_URL is not a valid smtp:// or smtps:// URL (smtps://user:pass@host:465)"
                        .into(),
                )
            })?
            .build();
        let from = Mailbox::new(
            Some(sender.name.clone()),
            sender
                .address
                .parse()
                .map_err(|_| MailError::Build("MAIL_FROM is not an e-mail address".into()))?,
        );
        let host = url
            .split_once("://")
            .map(|(_, rest)| rest.rsplit_once('@').map_or(rest, |(_, h)| h))
            .unwrap_or_default()
            .split(['/', '?'])
            .next()
            .unwrap_or_default()
            .to_owned();
        Ok(Self {
            transport,
            from,
            domain: sender.domain().to_owned(),
            host,
        })
    }
}

/// Builds the MIME message: `multipart/alternative` with the text part first, then the HTML.
pub fn build_message(email: &Email, from: &Mailbox) -> Result<Message, MailError> {
    let to = Mailbox::new(
        email.to_name.clone(),
        email
            .to
            .parse()
            .map_err(|_| MailError::Build("the recipient is not an e-mail address".into()))?,
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(email.message_id.clone()))
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| MailError::Build(e.to_string()))
}

impl Mailer for SmtpMailer {
    fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = build_message(email, &self.from)?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| MailError::Transport(e.to_string()))
    }

    fn domain(&self) -> &str {
        &self.domain
    }
}
