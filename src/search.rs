//! Searching every resource type at once (`POST /.search`, RFC 7644 §3.4.3): one filter over Users
//! and Groups. `totalResults` is the sum; a page runs over the matching users, then the matching
//! groups, each in its own order. A filter naming attributes of one type only matches nothing of
//! the other: an input error on one side is that side's empty result, unless both sides fail.

use crate::db::DbConn;
use crate::error::ServiceError;
use crate::groups::{self, GroupRecord};
use crate::scim::dialect::Rewrite;
use crate::scim::list::{ListRequest, Page};
use crate::scim::schema::Registry;
use crate::users::{self, UserRecord};

/// One page of a search over every resource type.
#[derive(Debug, Default)]
pub struct Found {
    /// How many users and groups match in all.
    pub total: u64,
    /// The page's users (they come first).
    pub users: Vec<UserRecord>,
    /// The page's groups, after its users.
    pub groups: Vec<GroupRecord>,
    /// The dialect rewrites the filter needed, on either side.
    pub rewrites: Vec<Rewrite>,
}

/// The page of users, then groups, that `request` asks for in the account; `include_members`
/// reads the groups' member rows.
pub fn all_types(
    conn: &mut DbConn,
    registry: &Registry,
    account_id: &str,
    request: &ListRequest,
    include_members: bool,
) -> Result<Found, ServiceError> {
    let mut user_error = None;
    let (user_total, users, mut rewrites) = match users::list(conn, registry, account_id, request) {
        Ok(found) => (found.total, found.records, found.rewrites),
        Err(ServiceError::Input(e)) => {
            user_error = Some(e);
            Default::default()
        }
        Err(other) => return Err(other),
    };
    let group_request = ListRequest {
        page: groups_page(request.page, user_total, users.len())?,
        ..request.clone()
    };
    let (group_total, groups, group_rewrites) = match (
        groups::list(conn, registry, account_id, &group_request, include_members),
        user_error,
    ) {
        (Ok(found), _) => (found.total, found.records, found.rewrites),
        (Err(ServiceError::Input(_)), None) => Default::default(),
        (Err(ServiceError::Input(_)), Some(e)) => return Err(ServiceError::Input(e)),
        (Err(other), _) => return Err(other),
    };
    rewrites.extend(group_rewrites);
    let total = user_total
        .checked_add(group_total)
        .ok_or_else(|| ServiceError::Internal("more resources match than can be counted".into()))?;
    Ok(Found {
        total,
        users,
        groups,
        rewrites,
    })
}

/// The part of `page` that falls on the groups, when `user_total` users match and `users_shown`
/// of them fill the page's start: the groups' own 1-based start index and the room left.
fn groups_page(page: Page, user_total: u64, users_shown: usize) -> Result<Page, ServiceError> {
    let shown = u64::try_from(users_shown)
        .map_err(|_| ServiceError::Internal("a page longer than can be counted".into()))?;
    let start_index = page
        .offset()
        .saturating_sub(user_total)
        .checked_add(1)
        .ok_or_else(|| ServiceError::Internal("a start index past the last one".into()))?;
    Ok(Page {
        start_index,
        count: page.count.saturating_sub(shown),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(start_index: u64, count: u64) -> Page {
        Page { start_index, count }
    }

    #[test]
    fn the_groups_page_starts_where_the_users_end() {
        // 5 users match; a page of 10 from the first shows all 5, then groups 1 to 5.
        assert_eq!(groups_page(page(1, 10), 5, 5).unwrap(), page(1, 5));
        // A page starting at the 4th resource shows users 4 and 5, then groups 1 to 8.
        assert_eq!(groups_page(page(4, 10), 5, 2).unwrap(), page(1, 8));
        // A page past the users starts inside the groups: the 8th resource is the 3rd group.
        assert_eq!(groups_page(page(8, 10), 5, 0).unwrap(), page(3, 10));
        // A page the users fill leaves no room for groups.
        assert_eq!(groups_page(page(1, 3), 5, 3).unwrap(), page(1, 0));
        // count=0 asks only for the totals.
        assert_eq!(groups_page(page(1, 0), 5, 0).unwrap(), page(1, 0));
    }

    #[test]
    fn client_numbers_at_the_edges_neither_overflow_nor_wrap() {
        assert_eq!(
            groups_page(page(u64::MAX, u64::MAX), 0, 0).unwrap(),
            page(u64::MAX, u64::MAX)
        );
        assert_eq!(
            groups_page(page(u64::MAX, 1), u64::MAX, 0).unwrap(),
            page(1, 1)
        );
        assert_eq!(groups_page(page(1, 2), 0, 10).unwrap(), page(1, 0));
    }
}
