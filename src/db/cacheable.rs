//! Updates diesel would prepare again on every run, written so that they are cached.
//!
//! Diesel never caches an `UPDATE`: its update statement marks itself unsafe to cache whatever its
//! changeset. On PostgreSQL that is a `Parse` on the wire on every write (issue 25). [`update`]
//! builds the same statement (`UPDATE table SET changeset WHERE predicate`) from the same typed
//! pieces, without that mark: its prepared form is cached under its SQL text and bind types,
//! which determine it completely. A changeset of a fixed shape is one cache entry; one that skips
//! `None` fields is one entry per shape, so only changesets of a few shapes belong here (never one
//! carrying values in its text).

use diesel::backend::Backend;
use diesel::query_builder::{AsChangeset, AstPass, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl, Table};

/// `UPDATE table SET changeset WHERE predicate`, cached by its text (see the module docs).
#[derive(Debug, Clone)]
pub struct CachedUpdate<F, P, C> {
    from_clause: F,
    predicate: P,
    changeset: C,
}

/// Sets `changeset` on the rows of `table` matching `predicate`: diesel's
/// `update(table.filter(predicate)).set(changeset)`, prepared once per connection.
pub fn update<T, P, V>(
    table: T,
    predicate: P,
    changeset: V,
) -> CachedUpdate<T::FromClause, P, V::Changeset>
where
    T: Table,
    V: AsChangeset<Target = T>,
{
    CachedUpdate {
        from_clause: table.from_clause(),
        predicate,
        changeset: changeset.as_changeset(),
    }
}

impl<F, P, C, DB> QueryFragment<DB> for CachedUpdate<F, P, C>
where
    DB: Backend,
    F: QueryFragment<DB>,
    P: QueryFragment<DB>,
    C: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        self.from_clause.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.changeset.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.predicate.walk_ast(out.reborrow())
    }
}

impl<F, P, C> QueryId for CachedUpdate<F, P, C> {
    type QueryId = ();

    /// No id by type: the cache key is the SQL text and the bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<F, P, C, Conn> RunQueryDsl<Conn> for CachedUpdate<F, P, C> {}
