//! E-mail: a [`Mailer`] trait with an SMTP implementation ([`smtp::SmtpMailer`], lettre) and an
//! in-memory twin for tests ([`memory::MemoryMailer`]); templates embedded in the binary and
//! localised ([`templates`]); and the generic `send_email` job ([`job::SendEmail`]).
//!
//! Nothing here sends from a request handler: mail goes through the job queue, at least once. Each
//! logical send has a deterministic `Message-ID` ([`message_id`]), so a retried delivery is
//! recognisably the same message. Addresses, names and bodies are never logged.

pub mod job;
pub mod memory;
pub mod smtp;
pub mod templates;

use sha2::{Digest, Sha256};

/// One message, ready to send: the recipient, the rendered parts and its `Message-ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The recipient's name, shown beside the address when present.
    pub to_name: Option<String>,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// The `Message-ID`, angle brackets included (`<…@domain>`).
    pub message_id: String,
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message could not be built (an invalid address, for instance). Sending it again cannot
    /// help: a job fails for good on it.
    #[error("the message cannot be built: {0}")]
    Build(String),
    /// The mail server refused it or could not be reached.
    #[error("the mail server did not accept the message: {0}")]
    Transport(String),
    /// No mail server is configured.
    #[error("no mail server is configured (set SMTP_URL)")]
    NotConfigured,
}

/// Something that delivers e-mail.
pub trait Mailer: Send + Sync + std::fmt::Debug {
    /// Delivers `email`; an error means it may not have been delivered (and the job retries).
    fn send(&self, email: &Email) -> Result<(), MailError>;

    /// The domain `Message-ID`s are minted under (the sender's).
    fn domain(&self) -> &str;
}

/// A mailer for when no SMTP server is configured: it refuses every message, so mail jobs back off
/// and end up visible as failed instead of vanishing.
#[derive(Debug, Clone, Default)]
pub struct DisabledMailer;

impl Mailer for DisabledMailer {
    fn send(&self, _: &Email) -> Result<(), MailError> {
        Err(MailError::NotConfigured)
    }

    fn domain(&self) -> &str {
        "localhost"
    }
}

/// The sender of every message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The address (`MAIL_FROM`).
    pub address: String,
    /// The display name (`MAIL_FROM_NAME`).
    pub name: String,
}

impl Sender {
    /// The domain part of the address, for `Message-ID`s.
    pub fn domain(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map_or("localhost", |(_, d)| d)
    }
}

/// `value` made safe for a mail header (a display name in `From` or `To`, a `Subject`), and for the
/// one line of a greeting: every control character (CR, LF, NUL, TAB, …; Unicode general category
/// Cc) and every line or paragraph separator becomes a space, runs of spaces become one, and the
/// ends are trimmed. Values people typed reach headers only through here: rows written before the
/// input rules refused control characters may still hold them, and a CR/LF in a header is either
/// an injected header or a message the mail library refuses to build.
pub fn header_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let blank = c.is_control() || c.is_whitespace();
        if !blank {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The `Message-ID` of one logical send: a hash of `key` (the job's dedup key, else its id) and
/// the template, under `domain`. The same logical send always gets the same id; two sends never do.
pub fn message_id(key: &str, template: &str, domain: &str) -> String {
    let digest = Sha256::digest(format!("{template}\n{key}").as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("<{hex}.{template}@{domain}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_has_no_control_characters_and_keeps_the_rest() {
        assert_eq!(
            header_text("Ann\r\nBcc: x@evil.example"),
            "Ann Bcc: x@evil.example"
        );
        assert_eq!(header_text("\u{0}Ann\u{0}Lee\t"), "Ann Lee");
        assert_eq!(header_text("Zoë  \u{2028} Ñ\u{85}"), "Zoë Ñ");
        assert_eq!(header_text("Acme & Co"), "Acme & Co");
        assert_eq!(header_text("\r\n"), "");
    }
}
