//! The in-memory text sender: keeps what it was asked to send, for tests to assert on. It checks
//! each text as the provider would ([`super::check`]) first.

use std::sync::Mutex;

use super::{SentText, TextError, TextMessage, TextSender};

/// A text sender that stores messages instead of sending them.
#[derive(Debug, Default)]
pub struct MemoryTextSender {
    sent: Mutex<Vec<TextMessage>>,
}

impl MemoryTextSender {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every text sent so far, in order.
    pub fn sent(&self) -> Vec<TextMessage> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl TextSender for MemoryTextSender {
    fn send(&self, text: &TextMessage) -> Result<SentText, TextError> {
        super::check(text)?;
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.push(text.clone());
        Ok(SentText {
            provider_id: Some(format!("SM{:032}", sent.len())),
        })
    }
}
