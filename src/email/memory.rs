//! The in-memory mailer: keeps what it was asked to send, for tests to assert on. It builds each
//! message as the SMTP mailer would ([`super::smtp::build_message`]) first, so a message SMTP could
//! not send is refused here too, with the same error.

use std::sync::Mutex;

use super::{Email, MailError, Mailer};

/// A mailer that stores messages instead of sending them.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<Email>>,
}

impl MemoryMailer {
    /// An empty mailbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far, in order.
    pub fn sent(&self) -> Vec<Email> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Mailer for MemoryMailer {
    fn send(&self, email: &Email) -> Result<(), MailError> {
        let from = "MobieTrain <no-reply@mobietrain.test>"
            .parse()
            .expect("a valid mailbox");
        super::smtp::build_message(email, &from)?;
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(email.clone());
        Ok(())
    }

    fn domain(&self) -> &str {
        "mobietrain.test"
    }
}
