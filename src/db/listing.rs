//! One page of a resource type's resources matching a filter, in a stable order, for any resource
//! type with an [`AttributeTable`]: the count and the page come from the same compiled condition,
//! scoped to the account. Users and Groups both list through here.

use diesel::RunQueryDsl;
use scim_v2::filter::{AttrExp, CompValue, CompareOp, Filter, ValFilter};

use super::filter::{AttributeTable, Compiler, sort_key};
use super::sql::{BindValue, SqlBuilder};
use super::{Backend, DbConn};
use crate::error::ServiceError;
use crate::scim::dialect::Rewrite;
use crate::scim::list::{Page, Sort};
use crate::scim::schema::Registry;

/// What is listed: a resource type and where its attributes live.
#[derive(Debug, Clone, Copy)]
pub struct Listing<'a> {
    /// The schemas, to resolve attribute paths.
    pub registry: &'a Registry,
    /// The resource type's name (`User`, `Group`).
    pub resource_type: &'a str,
    /// Its storage.
    pub table: &'a AttributeTable,
}

/// The row of a `SELECT COUNT(*) AS n` built with [`SqlBuilder`].
#[derive(diesel::QueryableByName)]
pub struct CountRow {
    /// The count.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

/// A row of a `SELECT … AS id` built with [`SqlBuilder`].
#[derive(diesel::QueryableByName)]
pub struct IdRow {
    /// The id.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub id: String,
}

#[derive(diesel::QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

#[derive(diesel::QueryableByName)]
struct PgPlanRow {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The `LIMIT`s a cached page query may carry, written into its text: SQLite parses a statement
/// again each time a bound `LIMIT` is bound, so a cached statement needs a literal one, and a few
/// values keep the number of cached statements small. The page is cut to its `count` afterwards.
const CACHED_LIMITS: [u64; 3] = [1, 100, 1000];

/// `attr eq "text"`: the comparison of a lookup.
fn is_text_eq(exp: &AttrExp) -> bool {
    matches!(
        exp,
        AttrExp::Comparison(_, CompareOp::Eq, CompValue::Str(_))
    )
}

/// Whether a list request is a lookup whose statements may be cached: one `eq` of a text value on
/// an attribute, or a value path of at most two of them (`emails[type eq "work" and value eq "…"]`),
/// in the default order, with a page size of [`CACHED_LIMITS`] or less. Its statements have one of
/// a bounded set of shapes (an attribute table's rows times a few limits), which is what keeps the
/// connection's unbounded statement cache small; any other filter is parsed anew each time.
/// Returns the `LIMIT` to write.
fn cached_limit(filter: Option<&Filter>, sort: Option<&Sort>, page: Page) -> Option<u64> {
    let lookup = match filter? {
        Filter::Attr(exp) => is_text_eq(exp),
        Filter::ValuePath(vp) => match vp.filter.as_ref() {
            ValFilter::Attr(exp) => is_text_eq(exp),
            ValFilter::And(ops) => {
                ops.len() <= 2
                    && ops
                        .iter()
                        .all(|f| matches!(f, ValFilter::Attr(e) if is_text_eq(e)))
            }
            _ => false,
        },
        _ => false,
    };
    if !lookup || sort.is_some() {
        return None;
    }
    CACHED_LIMITS.into_iter().find(|&l| l >= page.count)
}

impl Listing<'_> {
    /// `SELECT <select> FROM <table> WHERE account AND (<filter>)`, and the rewrites compiling it took.
    fn matching(
        &self,
        backend: Backend,
        account_id: &str,
        filter: Option<&Filter>,
        select: &str,
    ) -> Result<(SqlBuilder, Vec<Rewrite>), ServiceError> {
        let resource_type = self
            .registry
            .resource_type(self.resource_type)
            .expect("the resource type is served");
        let mut sql = SqlBuilder::new(backend);
        sql.push(select)
            .push(" FROM ")
            .push(self.table.table)
            .push(" WHERE ")
            .push(self.table.account_column)
            .push(" = ")
            .bind(BindValue::Text(account_id.to_owned()));
        let mut compiler = Compiler {
            registry: self.registry,
            resource_type,
            table: self.table,
            account_id,
            rewrites: Vec::new(),
        };
        if let Some(filter) = filter {
            sql.push(" AND ");
            compiler.compile(filter, &mut sql)?;
        }
        Ok((sql, compiler.rewrites))
    }

    fn page_query(
        &self,
        backend: Backend,
        account_id: &str,
        filter: Option<&Filter>,
        sort: Option<&Sort>,
        page: Page,
        literal_limit: Option<u64>,
    ) -> Result<(SqlBuilder, Vec<Rewrite>), ServiceError> {
        let resource_type = self
            .registry
            .resource_type(self.resource_type)
            .expect("the resource type is served");
        let id = self.table.id_column;
        let order = match sort {
            Some(sort) => {
                let key = sort_key(self.registry, resource_type, self.table, backend, &sort.by)?;
                let direction = if sort.descending { "DESC" } else { "ASC" };
                // Resources without the attribute sort last in either direction; the id keeps it stable.
                format!(
                    " ORDER BY ({expr} IS NULL) ASC, {expr} {direction}, {id} ASC",
                    expr = key.expression
                )
            }
            None => format!(" ORDER BY {id} ASC"),
        };
        let (mut sql, rewrites) =
            self.matching(backend, account_id, filter, &format!("SELECT {id} AS id"))?;
        sql.push(&order);
        match literal_limit {
            Some(limit) => sql.push(&format!(" LIMIT {limit}")),
            None => sql
                .push(" LIMIT ")
                .bind(BindValue::BigInt(page.count as i64)),
        };
        sql.push(" OFFSET ")
            .bind(BindValue::BigInt(page.offset() as i64));
        Ok((sql, rewrites))
    }

    /// The ids of one page of an account's resources matching `filter` (all when `None`), sorted by
    /// `sort` or by id (creation order: ids are UUIDv7), how many match in all, and the dialect
    /// rewrites the filter needed.
    pub fn find_page(
        &self,
        conn: &mut DbConn,
        account_id: &str,
        filter: Option<&Filter>,
        sort: Option<&Sort>,
        page: Page,
    ) -> Result<(i64, Vec<String>, Vec<Rewrite>), ServiceError> {
        let backend = conn.backend();
        let limit = cached_limit(filter, sort, page);
        let (count, rewrites) =
            self.matching(backend, account_id, filter, "SELECT COUNT(*) AS n")?;
        // Compiled even for an empty page, so a bad sortBy is refused whatever the page.
        let (query, _) = self.page_query(backend, account_id, filter, sort, page, limit)?;
        let rows = if page.count == 0 {
            Vec::new()
        } else {
            match limit {
                Some(_) => query.cached().load::<IdRow>(conn)?,
                None => query.query().load::<IdRow>(conn)?,
            }
        };
        // A first page that is not full holds every match: no count needed (a lookup's case).
        let sql_limit = limit.unwrap_or(page.count);
        let total = if page.count > 0 && page.offset() == 0 && (rows.len() as u64) < sql_limit {
            rows.len() as i64
        } else {
            match limit {
                Some(_) => count.cached().get_result::<CountRow>(conn)?.n,
                None => count.query().get_result::<CountRow>(conn)?.n,
            }
        };
        let ids = rows
            .into_iter()
            .take(page.count as usize)
            .map(|r| r.id)
            .collect();
        Ok((total, ids, rewrites))
    }

    /// The database's plan for the page query of `filter`, one line per row (for tests and operators).
    pub fn explain(
        &self,
        conn: &mut DbConn,
        account_id: &str,
        filter: &Filter,
    ) -> Result<Vec<String>, ServiceError> {
        let backend = conn.backend();
        let (query, _) = self.page_query(
            backend,
            account_id,
            Some(filter),
            None,
            Page {
                start_index: 1,
                count: 100,
            },
            None,
        )?;
        let mut explained = SqlBuilder::new(backend);
        explained.push(match backend {
            Backend::Sqlite => "EXPLAIN QUERY PLAN ",
            Backend::Postgres => "EXPLAIN ",
        });
        explained.push(query.text());
        for b in query.binds() {
            explained.bind_value_only(b.clone());
        }
        Ok(match backend {
            Backend::Sqlite => explained
                .query()
                .load::<SqlitePlanRow>(conn)?
                .into_iter()
                .map(|r| r.detail)
                .collect(),
            Backend::Postgres => explained
                .query()
                .load::<PgPlanRow>(conn)?
                .into_iter()
                .map(|r| r.line)
                .collect(),
        })
    }
}
