//! Text messages (SMS): a [`TextSender`] trait with Twilio's Messages API as the provider
//! ([`twilio::TwilioSender`]) and an in-memory twin for tests ([`memory::MemoryTextSender`]); the
//! GSM-7/UCS-2 segment counter ([`segments`]); and the generic `text.send` job ([`job::SendText`]).
//!
//! Nothing here sends from a request handler: texts go through the job queue, at least once. Each
//! logical send carries an idempotency key, which the provider receives
//! (`I-Twilio-Idempotency-Token`), so a retried request is not a second text where the provider
//! honours it. Numbers and bodies are never logged: only the job, the segment count and the
//! encoding are.

pub mod job;
pub mod memory;
pub mod segments;
pub mod twilio;

/// One text, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMessage {
    /// The recipient, in E.164 (`+32470123456`).
    pub to: String,
    /// The text.
    pub body: String,
    /// Names the logical send: the same key on every attempt of it, another key for another send.
    pub idempotency_key: String,
}

/// What the provider said about a text it accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SentText {
    /// The provider's id of the message (Twilio's `sid`), when it gave one.
    pub provider_id: Option<String>,
}

/// What the provider said when it refused a text: its HTTP status and, when it sent one, its
/// error `code` and `message` (Twilio: `{"code": 21211, "message": "…"}`), kept for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    /// The HTTP status.
    pub status: u16,
    /// The provider's error code.
    pub code: Option<i64>,
    /// The provider's message (may quote the number: it goes to the job row, never to the logs).
    pub message: Option<String>,
}

impl ProviderError {
    /// The status and the provider's code, without its message (which may quote the number).
    pub fn status_and_code(&self) -> String {
        match self.code {
            Some(code) => format!("HTTP {}, error {code}", self.status),
            None => format!("HTTP {}", self.status),
        }
    }
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = self.code {
            write!(f, ", error {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// Why a text was not sent.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// The provider refused the text for good (an invalid or unreachable number, a bad request):
    /// sending it again cannot help.
    #[error("the text provider refused the message: {0}")]
    Rejected(ProviderError),
    /// The provider is busy or failing (429, 5xx): a later attempt may succeed.
    #[error("the text provider is unavailable: {0}")]
    Unavailable(ProviderError),
    /// The provider could not be reached, or answered something that is no answer.
    #[error("the text provider could not be reached: {0}")]
    Transport(String),
    /// The message cannot be sent as it is (a number not in E.164, an empty body).
    #[error("the text cannot be sent: {0}")]
    Invalid(String),
    /// No provider is configured.
    #[error(
        "no text provider is configured (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID)"
    )]
    NotConfigured,
}

impl TextError {
    /// Whether a later attempt may succeed (the job queue retries it with backoff).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TextError::Unavailable(_) | TextError::Transport(_) | TextError::NotConfigured
        )
    }

    /// The error as others may see it (an invitation's delivery status): the provider's status
    /// and code but not its message, which may quote the number.
    pub fn summary(&self) -> String {
        match self {
            TextError::Rejected(p) => format!(
                "the text provider refused the message ({})",
                p.status_and_code()
            ),
            TextError::Unavailable(p) => {
                format!("the text provider is unavailable ({})", p.status_and_code())
            }
            TextError::Transport(_) => "the text provider could not be reached".to_owned(),
            TextError::Invalid(_) | TextError::NotConfigured => self.to_string(),
        }
    }

    /// The metrics and log name of the error's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            TextError::Rejected(_) => "text_rejected",
            TextError::Unavailable(_) => "text_provider_unavailable",
            TextError::Transport(_) => "text_transport",
            TextError::Invalid(_) => "text_invalid",
            TextError::NotConfigured => "text_not_configured",
        }
    }
}

/// Something that delivers text messages.
pub trait TextSender: Send + Sync + std::fmt::Debug {
    /// Delivers `text`; an error means it may not have been delivered.
    fn send(&self, text: &TextMessage) -> Result<SentText, TextError>;
}

/// A sender for when no provider is configured: it refuses every text, so text jobs back off and
/// end up visible as failed instead of vanishing.
#[derive(Debug, Clone, Default)]
pub struct DisabledTextSender;

impl TextSender for DisabledTextSender {
    fn send(&self, _: &TextMessage) -> Result<SentText, TextError> {
        Err(TextError::NotConfigured)
    }
}

/// Checks what every sender needs of a text: a number in E.164 and a body.
pub fn check(text: &TextMessage) -> Result<(), TextError> {
    if crate::phone::e164(&text.to).as_deref() != Some(text.to.as_str()) {
        return Err(TextError::Invalid(
            "the recipient is not a phone number in E.164 (+32470123456)".into(),
        ));
    }
    if text.body.trim().is_empty() {
        return Err(TextError::Invalid("the body is empty".into()));
    }
    if text.idempotency_key.is_empty() {
        return Err(TextError::Invalid("the idempotency key is empty".into()));
    }
    Ok(())
}
