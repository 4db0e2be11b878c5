//! SMTP delivery through lettre's blocking transport (no async runtime), TLS by rustls on aws-lc-rs.
//!
//! The server comes from `SMTP_URL`: `smtp://host:2525` (plain, for local servers),
//! `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://user:pass@host` (TLS from the
//! start). The URL carries the password, so it is never logged, stored or shown in `Debug`.

use lettre::message::{Mailbox, MultiPart};
use lettre::{Message, SmtpTransport, Transport};

use super::{Email, MailError, Mailer, Sender, header_text};

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
            Some(header_text(&sender.name)),
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
///
/// Never panics, and never lets a control character into a header: the recipient's name and the
/// subject pass through [`header_text`] whatever the caller did (lettre panics on a CR or LF in a
/// display name). What cannot be built (an address that is none) is a [`MailError::Build`]; a panic
/// inside lettre all the same becomes one too, so a job fails for good, once, instead of crashing
/// on every retry.
pub fn build_message(email: &Email, from: &Mailbox) -> Result<Message, MailError> {
    let address = email
        .to
        .parse()
        .map_err(|_| MailError::Build("the recipient is not an e-mail address".into()))?;
    let name = email
        .to_name
        .as_deref()
        .map(header_text)
        .filter(|n| !n.is_empty());
    let to = Mailbox::new(name, address);
    let subject = header_text(&email.subject);
    let build = || {
        Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(header_text(&email.message_id)))
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| MailError::Build(e.to_string()))
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(build)).unwrap_or_else(|_| {
        Err(MailError::Build(
            "the mail library could not encode the message's headers".into(),
        ))
    })
}

/// What a failed SMTP exchange may say where admins read it: the server's reply code and its class
/// (transient or permanent), or what kind of connection failure it was; never the reply's text,
/// which may quote the recipient's address.
pub fn summary(error: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = error.status() {
        let class = if error.is_permanent() {
            "permanent"
        } else {
            "transient"
        };
        return format!("the mail server refused the message: reply {code} ({class} failure)");
    }
    if error.is_timeout() {
        return "the mail server did not answer in time".to_owned();
    }
    if error.is_tls() {
        return "the TLS handshake with the mail server failed".to_owned();
    }
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            let kind = io.kind().to_string();
            return format!("the mail server could not be reached ({kind})");
        }
        source = e.source();
    }
    "the mail server could not be reached, or it closed the connection".to_owned()
}

impl Mailer for SmtpMailer {
    fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = build_message(email, &self.from)?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| MailError::Transport(summary(&e)))
    }

    fn domain(&self) -> &str {
        &self.domain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn email(to: &str, name: &str, subject: &str) -> Email {
        Email {
            to: to.into(),
            to_name: Some(name.into()),
            subject: subject.into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
            message_id: "<1.invitation@mobietrain.test>".into(),
        }
    }

    fn headers(message: &Message) -> String {
        let raw = String::from_utf8_lossy(&message.formatted()).into_owned();
        raw.split("\r\n\r\n").next().unwrap_or_default().to_owned()
    }

    fn from() -> Mailbox {
        "MobieTrain <no-reply@mobietrain.test>".parse().unwrap()
    }

    #[test]
    fn control_characters_in_names_and_subjects_never_reach_a_header() {
        for (name, subject) in [
            ("Ann\r\nBcc: victim@evil.example", "Welcome"),
            ("Ann\u{0}Lee", "Welcome"),
            ("Ann", "Welcome\r\nBcc: victim@evil.example"),
            ("\r\n", "\u{0}"),
        ] {
            let message = build_message(&email("ann@example.com", name, subject), &from())
                .unwrap_or_else(|e| panic!("{name:?} / {subject:?}: {e}"));
            let head = headers(&message);
            assert!(
                !head
                    .lines()
                    .any(|l| l.to_ascii_lowercase().starts_with("bcc")),
                "{head}"
            );
            assert!(!head.contains('\0'), "{head}");
            assert!(
                head.contains("<ann@example.com>") || head.contains("To: ann@example.com"),
                "{head}"
            );
        }
    }

    #[test]
    fn an_address_that_is_none_cannot_be_built_and_says_so() {
        for to in [
            "ann\r\n@example.com",
            "not an address",
            "",
            "ann\u{0}@example.com",
        ] {
            match build_message(&email(to, "Ann", "Hi"), &from()) {
                Err(MailError::Build(_)) => {}
                other => panic!("{to:?}: {other:?}"),
            }
        }
    }

    proptest! {
        /// Whatever a name or subject holds, building either works or is a Build error: never a
        /// panic, and never a header line the values made.
        #[test]
        fn building_never_panics(name in any::<String>(), subject in any::<String>(), to in prop_oneof![Just("ann@example.com".to_owned()), any::<String>()]) {
            match build_message(&email(&to, &name, &subject), &from()) {
                Ok(message) => {
                    let head = headers(&message);
                    let names: Vec<&str> = head
                        .lines()
                        .filter(|l| !l.starts_with([' ', '\t']))
                        .filter_map(|l| l.split_once(':').map(|(n, _)| n))
                        .collect();
                    for n in names {
                        prop_assert!(
                            ["From", "To", "Subject", "Message-ID", "MIME-Version", "Date", "Content-Type"].contains(&n),
                            "unexpected header {:?} in {}", n, head
                        );
                    }
                }
                Err(MailError::Build(_)) => {}
                Err(e) => prop_assert!(false, "{}", e),
            }
        }
    }
}
