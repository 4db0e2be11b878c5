//! A user as the recipient of a message: what mail jobs ask `users` for, so that no job reads the
//! user tables itself.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{user_emails, users};
/// The mail job's own type: `users` answers in it, so nothing converts between twins.
pub use crate::email::job::Recipient;

/// User `user_id` of account `account_id` as a recipient; `None` when there is no such user.
pub fn find(conn: &mut DbConn, account_id: &str, user_id: &str) -> QueryResult<Option<Recipient>> {
    let user = users::table
        .filter(users::id.eq(user_id))
        .filter(users::account_id.eq(account_id))
        .select((
            users::given_name,
            users::family_name,
            users::preferred_language,
            users::locale,
            users::active,
        ))
        .first::<(
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            bool,
        )>(conn)
        .optional()?;
    let Some((given_name, family_name, preferred_language, locale, active)) = user else {
        return Ok(None);
    };
    let address = user_emails::table
        .filter(user_emails::user_id.eq(user_id))
        .select(user_emails::value)
        .order((
            user_emails::is_primary.eq(Some(true)).desc(),
            user_emails::position.asc(),
        ))
        .first(conn)
        .optional()?;
    Ok(Some(Recipient {
        given_name,
        family_name,
        preferred_language,
        locale,
        active,
        address,
    }))
}
