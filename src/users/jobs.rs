//! The job a user write enqueues: `invitations.provision`, inviting a user SCIM just created when
//! the account asks for it (`inviteOnProvision`). The type is the user write's, so users never
//! import the invitations above them; its handler lives with the invitations it makes
//! (`crate::invitations::jobs`) and is registered there. The name stays as it always was, so rows
//! queued before the move still run.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::db::DbConn;
use crate::error::ServiceError;
use crate::jobs::{EnqueueOptions, JobType, enqueue};

/// Invite a user SCIM just created (`inviteOnProvision`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionInvitation {
    /// The user.
    pub user_id: String,
}

impl JobType for ProvisionInvitation {
    const NAME: &'static str = "invitations.provision";
}

/// Enqueues the invitation of a user SCIM is creating, in the create's transaction.
pub fn enqueue_provision(
    conn: &mut DbConn,
    account_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    let job = ProvisionInvitation {
        user_id: user_id.to_owned(),
    };
    let options = EnqueueOptions {
        account_id: Some(account_id.to_owned()),
        dedup_key: Some(format!("provision:{user_id}")),
        run_at: Some(now),
        ..EnqueueOptions::default()
    };
    enqueue(conn, &job, options, now)?;
    Ok(())
}
