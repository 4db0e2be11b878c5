//! Several write statements sent as one on PostgreSQL, where every statement is a round trip.
//!
//! A [`Batch`] collects typed diesel statements (the `insert_into(table).values(row)` a write
//! would run one by one) and [`Batch::execute`] runs them, in order, on the caller's connection
//! and inside its transaction:
//! - on PostgreSQL as ONE statement, `WITH w0 AS (<first>), w1 AS (<second>), … <last>`: the
//!   data-modifying parts of a `WITH` run exactly once, to completion, in one statement. They all
//!   see the same snapshot, so a batch must not hold two statements that touch the same rows (a
//!   delete and a re-insert of one key); rows of different tables referencing each other are fine,
//!   since foreign keys are checked at the end of the statement (a user's e-mails may reference
//!   the user inserted by the same batch). Bind numbering continues across the parts, all of which
//!   walk one `AstPass`.
//! - on SQLite, which has no data-modifying `WITH`, one statement after another.
//!
//! The combined statement is cached by its SQL text and bind types (its `QueryId` has no static
//! id, as in [`super::cacheable`]): a batch of the same shape is prepared once per connection. A
//! part that is unsafe to cache (a multi-row insert, whose text depends on its row count) makes
//! the whole statement unsafe to cache, as it would be on its own.
//!
//! PostgreSQL takes at most 65,535 bind parameters per statement; a batch renders them all in one
//! statement, so a batch is for the rows of one resource, not for bulk loads.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::{PgConnection, QueryResult, RunQueryDsl, SqliteConnection};

use super::DbConn;

/// Write statements to run together (see the module docs), in the order they were added.
#[derive(Default)]
pub struct Batch<'a> {
    parts: Vec<Box<dyn Part + 'a>>,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("parts", &self.parts.len())
            .finish()
    }
}

impl<'a> Batch<'a> {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `statement` after those already added. It must be a statement both backends run:
    /// rendered into the combined statement on PostgreSQL, executed by itself on SQLite.
    pub fn push<S>(&mut self, statement: S)
    where
        S: QueryFragment<Pg> + ExecuteDsl<SqliteConnection> + 'a,
    {
        self.parts.push(Box::new(statement));
    }

    /// How many statements the batch holds.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether the batch holds no statement.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Runs the statements (see the module docs) on `conn`, in the caller's transaction if any;
    /// an empty batch sends nothing. Returns the number of rows the last statement affected (on
    /// PostgreSQL the combined statement reports the count of its last part), `0` when empty.
    pub fn execute(self, conn: &mut DbConn) -> QueryResult<usize> {
        match conn {
            DbConn::Pg(c) => self.execute_on_pg(c),
            DbConn::Sqlite(c) => self.execute_on_sqlite(c),
        }
    }

    fn execute_on_pg(self, conn: &mut PgConnection) -> QueryResult<usize> {
        match self.parts.as_slice() {
            [] => Ok(0),
            parts => Combined { parts }.execute(conn),
        }
    }

    fn execute_on_sqlite(self, conn: &mut SqliteConnection) -> QueryResult<usize> {
        let mut last = 0;
        for part in self.parts {
            last = part.execute_on_sqlite(conn)?;
        }
        Ok(last)
    }
}

/// One statement of a batch, usable by either backend's way of running it.
trait Part {
    /// The statement as a fragment of the combined PostgreSQL statement.
    fn as_pg(&self) -> &dyn QueryFragment<Pg>;

    /// Runs the statement by itself on SQLite (diesel runs some statements, such as multi-row
    /// inserts, only through `execute`, which takes them by value).
    fn execute_on_sqlite(self: Box<Self>, conn: &mut SqliteConnection) -> QueryResult<usize>;
}

impl<S> Part for S
where
    S: QueryFragment<Pg> + ExecuteDsl<SqliteConnection>,
{
    fn as_pg(&self) -> &dyn QueryFragment<Pg> {
        self
    }

    fn execute_on_sqlite(self: Box<Self>, conn: &mut SqliteConnection) -> QueryResult<usize> {
        ExecuteDsl::execute(*self, conn)
    }
}

/// The parts of a batch rendered as one PostgreSQL statement: every part but the last in a
/// `WITH` of its own, the last one as the statement's body.
struct Combined<'p, 'a> {
    parts: &'p [Box<dyn Part + 'a>],
}

impl QueryFragment<Pg> for Combined<'_, '_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let Some((last, leading)) = self.parts.split_last() else {
            return Ok(());
        };
        for (index, part) in leading.iter().enumerate() {
            out.push_sql(if index == 0 { "WITH " } else { ", " });
            out.push_sql(&format!("w{index} AS ("));
            part.as_pg().walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        if !leading.is_empty() {
            out.push_sql(" ");
        }
        last.as_pg().walk_ast(out.reborrow())
    }
}

impl QueryId for Combined<'_, '_> {
    type QueryId = ();

    /// No id by type (the parts are erased): the cache key is the SQL text and the bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl RunQueryDsl<PgConnection> for Combined<'_, '_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::{user_emails, users};
    use diesel::prelude::*;

    /// The SQL text and bind count PostgreSQL would receive for `batch`.
    fn rendered(batch: &Batch<'_>) -> (String, usize) {
        let combined = Combined {
            parts: &batch.parts,
        };
        let debug = diesel::debug_query::<Pg, _>(&combined).to_string();
        let (sql, binds) = debug
            .split_once(" -- binds: ")
            .expect("debug_query appends the binds");
        (sql.to_owned(), binds.matches(", ").count() + 1)
    }

    #[test]
    fn one_statement_is_sent_as_it_is() {
        let mut batch = Batch::new();
        batch.push(diesel::delete(users::table.filter(users::id.eq("u1"))));
        let (sql, _) = rendered(&batch);
        assert_eq!(sql, r#"DELETE FROM "users" WHERE ("users"."id" = $1)"#);
    }

    #[test]
    fn several_statements_become_one_with_numbered_binds() {
        let mut batch = Batch::new();
        batch.push(diesel::delete(users::table.filter(users::id.eq("u1"))));
        batch.push(diesel::delete(
            user_emails::table.filter(user_emails::user_id.eq("u1")),
        ));
        batch.push(diesel::delete(
            users::table.filter(users::account_id.eq("a1").and(users::id.eq("u2"))),
        ));
        let (sql, binds) = rendered(&batch);
        assert_eq!(
            sql,
            r#"WITH w0 AS (DELETE FROM "users" WHERE ("users"."id" = $1)), w1 AS (DELETE FROM "user_emails" WHERE ("user_emails"."user_id" = $2)) DELETE FROM "users" WHERE (("users"."account_id" = $3) AND ("users"."id" = $4))"#
        );
        assert_eq!(binds, 4);
    }
}
