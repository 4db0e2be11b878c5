//! How an invitation's delivery went (DESIGN 6): `queued`, `sent`, `failing` (a retry is
//! scheduled) or `failed` (retries exhausted), with the last error and the attempts, recorded from
//! the outcomes of the send job of whichever channel carries the invitation (e-mail today, text
//! messages next) through the one function [`record`].
//!
//! The status is that of the invitation's latest send an admin caused (the invitation itself, or a
//! resend); reminders are counted on the invitation (`remindersSent`) and do not change it. An
//! outcome of an older send (its job ran while a resend was being queued) changes only the time of
//! the last send that went out, which the resend cool-down counts from.
//!
//! The 60-day clock starts when the first send goes out: while nothing has, `firstSentAt` is null
//! and the expiry counts from when the invitation was made; when the first send goes out later
//! than that (the mail server was down), the expiry moves to 60 days after it and the reminders
//! and the expiry job are scheduled again from it, so a failing first send does not eat the
//! invitee's 60 days. Once a reminder went out the clock no longer moves.

use chrono::{Duration, NaiveDateTime};
use serde::Serialize;

use super::{InvitationSettings, jobs, storage};
use crate::clock::rfc3339;
use crate::db::models::InvitationRow;
use crate::db::{self, DbConn};
use crate::error::ServiceError;

/// Where an invitation's delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing has been tried yet (or a resend is waiting for its first try).
    Queued,
    /// The channel accepted the latest send.
    Sent,
    /// The latest send failed and a retry is scheduled.
    Failing,
    /// The latest send failed and will not be retried.
    Failed,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 4] = [
        Status::Queued,
        Status::Sent,
        Status::Failing,
        Status::Failed,
    ];

    /// The stored (and shown) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sent => "sent",
            Status::Failing => "failing",
            Status::Failed => "failed",
        }
    }

    /// The status a name denotes.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// What became of one attempt to deliver a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The channel accepted it.
    Sent,
    /// It failed and will be retried; the error carries no personal data.
    Failing(String),
    /// It failed for good; the error carries no personal data.
    Failed(String),
}

/// The longest error text kept on an invitation.
const MAX_ERROR_CHARS: usize = 300;

/// An invitation's delivery as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// `queued`, `sent`, `failing` or `failed`.
    pub status: Status,
    /// When the last send that went out went out; null while none has.
    pub sent_at: Option<String>,
    /// The last failure of the latest send (no personal data); null once it went out.
    pub last_error: Option<String>,
    /// Delivery attempts of the latest send.
    pub attempts: i32,
}

impl Delivery {
    /// The delivery of a stored invitation.
    pub fn of(row: &InvitationRow) -> Self {
        Self {
            status: Status::parse(&row.delivery_status).unwrap_or(Status::Queued),
            sent_at: row.last_delivered_at.map(rfc3339),
            last_error: row.delivery_error.clone(),
            attempts: row.delivery_attempts,
        }
    }
}

/// Records the outcome of one delivery attempt of send `send` (the invitation's `sends` counter
/// at the time the send was queued) of invitation `invitation_id`, in a transaction of its own.
/// Nothing happens when the invitation is gone. See the module documentation for what changes.
pub fn record(
    conn: &mut DbConn,
    settings: &InvitationSettings,
    invitation_id: &str,
    send: i32,
    outcome: Outcome,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    db::write_transaction(conn, |conn| {
        let Some(row) = storage::find_any(conn, invitation_id)? else {
            return Ok(());
        };
        let latest = send == row.sends;
        match outcome {
            Outcome::Sent => {
                storage::record_delivered(conn, &row.id, latest, now)?;
                if row.first_delivered_at.is_none() {
                    start_the_clock(conn, settings, &row, now)?;
                }
            }
            // A failure of a send a resend replaced: the resend's outcome counts.
            _ if !latest => {}
            Outcome::Failing(error) => {
                storage::record_failure(conn, &row.id, Status::Failing, &clip(&error), now)?;
            }
            Outcome::Failed(error) => {
                storage::record_failure(conn, &row.id, Status::Failed, &clip(&error), now)?;
            }
        }
        Ok(())
    })
}

/// When `row` expires if a send of it goes out at `now`: 60 days after `now` when that is its
/// first send to go out and it is late (more than a minute after the invitation was made; no
/// reminder went out), else its expiry as it stands. The message says this date, and
/// [`record`] then moves the expiry to it.
pub fn expiry_if_sent_at(
    settings: &InvitationSettings,
    row: &InvitationRow,
    now: NaiveDateTime,
) -> NaiveDateTime {
    let late = row.first_delivered_at.is_none()
        && row.last_reminder == 0
        && now > row.first_sent_at + Duration::minutes(1);
    if late {
        now + settings.expiry
    } else {
        row.expires_at
    }
}

/// The first send went out at `now`: the 60 days count from here, unless a reminder already went
/// out (then they count from the invitation's making, as before) or it went out on time.
fn start_the_clock(
    conn: &mut DbConn,
    settings: &InvitationSettings,
    row: &InvitationRow,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    let expires_at = expiry_if_sent_at(settings, row, now);
    if expires_at == row.expires_at {
        return Ok(());
    }
    storage::restart_clock(conn, &row.id, now, expires_at)?;
    jobs::cancel_follow_ups(conn, &row.account_id, &row.id)?;
    let moved = InvitationRow {
        first_sent_at: now,
        expires_at,
        ..row.clone()
    };
    jobs::schedule_follow_ups(conn, settings, &moved, now)?;
    tracing::info!(invitation.id = %row.id, "first send went out late; the expiry counts from it");
    Ok(())
}

fn clip(error: &str) -> String {
    crate::email::header_text(error)
        .chars()
        .take(MAX_ERROR_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("done"), None);
    }

    #[test]
    fn errors_are_one_bounded_line() {
        let long = format!("a\r\nb{}", "x".repeat(1000));
        let clipped = clip(&long);
        assert!(clipped.starts_with("a b"));
        assert_eq!(clipped.chars().count(), MAX_ERROR_CHARS);
    }
}
