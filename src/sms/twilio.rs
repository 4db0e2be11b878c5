//! Twilio's Messages API over HTTPS (reqwest, rustls on aws-lc-rs):
//! `POST {api}/2010-04-01/Accounts/{AccountSid}/Messages.json` with the form fields `To`, `From`
//! or `MessagingServiceSid`, and `Body`, HTTP basic auth (account SID, auth token), and the
//! idempotency key in `I-Twilio-Idempotency-Token`.
//!
//! Job handlers run on worker threads without an async runtime, and in tests on a thread that
//! drives one: so each send runs the request on a short-lived thread of its own, on a
//! current-thread runtime, and the caller only waits for it. The client keeps no idle connection
//! (a connection belongs to the runtime that opened it, and that runtime ends with the send).
//!
//! Answers: 2xx is sent; 429 and 5xx are [`TextError::Unavailable`] (the job retries with
//! backoff); any other 4xx is [`TextError::Rejected`] (21211 invalid number, 21614 not a mobile
//! number, …: permanent); the error's `code` and `message` are kept.

use std::time::Duration;

use super::{ProviderError, SentText, TextError, TextMessage, TextSender};

/// Who a text comes from: a number (or alphanumeric sender id), or a messaging service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `TWILIO_FROM`: the `From` field.
    Number(String),
    /// `TWILIO_MESSAGING_SERVICE_SID`: the `MessagingServiceSid` field.
    MessagingService(String),
}

/// What the Twilio sender needs.
#[derive(Clone)]
pub struct TwilioSettings {
    /// The API's base URL (`https://api.twilio.com`).
    pub api_url: String,
    /// The account SID (`AC…`).
    pub account_sid: String,
    /// The auth token.
    pub auth_token: String,
    /// The sender.
    pub from: Origin,
    /// How long one request may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for TwilioSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSettings")
            .field("api_url", &self.api_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"..")
            .field("from", &self.from)
            .finish()
    }
}

/// Sends texts through Twilio.
#[derive(Debug)]
pub struct TwilioSender {
    settings: TwilioSettings,
    endpoint: String,
    client: reqwest::Client,
}

impl TwilioSender {
    /// A sender for `settings` (checked by the configuration).
    pub fn new(settings: TwilioSettings) -> Result<Self, TextError> {
        let endpoint = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            settings.api_url.trim_end_matches('/'),
            settings.account_sid
        );
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| TextError::Transport(e.to_string()))?;
        Ok(Self {
            settings,
            endpoint,
            client,
        })
    }

    fn form(&self, text: &TextMessage) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", &text.to);
        match &self.settings.from {
            Origin::Number(n) => form.append_pair("From", n),
            Origin::MessagingService(sid) => form.append_pair("MessagingServiceSid", sid),
        };
        form.append_pair("Body", &text.body);
        form.finish()
    }

    async fn post(&self, text: &TextMessage) -> Result<SentText, TextError> {
        let response = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.settings.account_sid, Some(&self.settings.auth_token))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .header("I-Twilio-Idempotency-Token", &text.idempotency_key)
            .body(self.form(text))
            .send()
            .await
            // Without the URL: it names the account, and reqwest's text may quote it.
            .map_err(|e| TextError::Transport(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        // A bounded read: an answer is a small JSON document.
        let body = read_bounded(response, 64 * 1024).await;
        let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        if (200..300).contains(&status) {
            return Ok(SentText {
                provider_id: json
                    .as_ref()
                    .and_then(|j| j.get("sid"))
                    .and_then(|s| s.as_str())
                    .map(str::to_owned),
            });
        }
        let error = ProviderError {
            status,
            code: json
                .as_ref()
                .and_then(|j| j.get("code"))
                .and_then(serde_json::Value::as_i64),
            message: json
                .as_ref()
                .and_then(|j| j.get("message"))
                .and_then(|s| s.as_str())
                .map(|m| m.chars().take(500).collect()),
        };
        Err(classify(error))
    }
}

/// Reads at most `limit` bytes of a response body.
async fn read_bounded(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    body
}

/// Whether the provider's refusal is worth a retry: 429 and 5xx are, any other answer is not.
pub fn classify(error: ProviderError) -> TextError {
    if error.status == 429 || error.status >= 500 {
        TextError::Unavailable(error)
    } else {
        TextError::Rejected(error)
    }
}

impl TextSender for TwilioSender {
    fn send(&self, text: &TextMessage) -> Result<SentText, TextError> {
        super::check(text)?;
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| TextError::Transport(e.to_string()))?;
                    runtime.block_on(self.post(text))
                })
                .join()
                .unwrap_or_else(|_| Err(TextError::Transport("the sending thread panicked".into())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_answers_are_classified() {
        let e = |status, code| ProviderError {
            status,
            code,
            message: None,
        };
        assert!(classify(e(429, Some(20429))).is_retryable());
        assert!(classify(e(500, None)).is_retryable());
        assert!(classify(e(503, None)).is_retryable());
        assert!(!classify(e(400, Some(21211))).is_retryable());
        assert!(!classify(e(400, Some(21614))).is_retryable());
        assert!(!classify(e(404, Some(20404))).is_retryable());
    }

    #[test]
    fn the_auth_token_is_not_in_debug() {
        let settings = TwilioSettings {
            api_url: "https://api.twilio.com".into(),
            account_sid: "AC1".into(),
            auth_token: "hunter2".into(),
            from: Origin::Number("+3225550000".into()),
            timeout: Duration::from_secs(1),
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
        let sender = TwilioSender::new(settings).unwrap();
        assert!(!format!("{sender:?}").contains("hunter2"));
    }
}
