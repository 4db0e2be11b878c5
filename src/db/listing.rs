//! One page of a resource type's resources matching a filter, in a stable order, for any resource
//! type with an [`AttributeTable`]: the count and the page come from the same compiled condition,
//! scoped to the account. Users and Groups both list through here.

use diesel::sql_types::{Bool, Nullable, Text, Timestamp};
use diesel::{QueryResult, QueryableByName, RunQueryDsl};
use scim_v2::filter::{AttrExp, CompValue, CompareOp, Filter, ValFilter};

use super::filter::{AttributeTable, Compiler, Kind, SortKey, sort_key};
use super::sql::{BindValue, SqlBuilder};
use super::{Backend, DbConn, MultiBackend};
use crate::error::ServiceError;
use crate::scim::cursor::{Paging, Position, Resume, SortValue};
use crate::scim::dialect::Rewrite;
use crate::scim::error::InputError;
use crate::scim::list::{ListRequest, Page, Sort};
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

/// A row of a keyset page sorted by a text attribute: the id and the sort value.
#[derive(diesel::QueryableByName)]
struct TextKeyRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Text>)]
    k: Option<String>,
}

/// A row of a keyset page sorted by a boolean attribute.
#[derive(diesel::QueryableByName)]
struct BoolKeyRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Bool>)]
    k: Option<bool>,
}

/// A row of a keyset page sorted by a timestamp attribute.
#[derive(diesel::QueryableByName)]
struct TimeKeyRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    k: Option<chrono::NaiveDateTime>,
}

/// One page, as [`Listing::find_page`] (ids) or [`Listing::find_records`] (resources) finds it.
#[derive(Debug, Default)]
pub struct Found<T = String> {
    /// How many resources match in all.
    pub total: i64,
    /// The page's ids or resources, in order.
    pub items: Vec<T>,
    /// The filter's dialect rewrites.
    pub rewrites: Vec<Rewrite>,
    /// With cursor paging, the position of the page's last row when more rows follow.
    pub next: Option<Position>,
    /// With cursor paging, the position of the page's first row when rows come before it.
    pub previous: Option<Position>,
}

impl<T> Found<T> {
    /// The same page with other items in their place (the resources of its ids, say).
    pub fn with_items<U>(self, items: Vec<U>) -> Found<U> {
        Found {
            total: self.total,
            items,
            rewrites: self.rewrites,
            next: self.next,
            previous: self.previous,
        }
    }
}

/// A statement of an index page run: cached when its text carries a literal `LIMIT` (a lookup,
/// [`cached_limit`]), parsed anew otherwise.
fn run_page<R>(conn: &mut DbConn, query: &SqlBuilder, cached: bool) -> QueryResult<Vec<R>>
where
    R: QueryableByName<MultiBackend> + 'static,
{
    if cached {
        query.cached().load(conn)
    } else {
        query.query().load(conn)
    }
}

/// How many resources an index page's filter matches: the page's own length when a first page
/// came back with fewer rows than its statement could return (it holds every match: no count
/// needed, a lookup's case), else the `COUNT` query, cached like the page's statement.
fn page_total(
    conn: &mut DbConn,
    count: &SqlBuilder,
    cached: bool,
    page: Page,
    (returned, could_return): (usize, u64),
) -> QueryResult<i64> {
    if page.count > 0 && page.offset() == 0 && (returned as u64) < could_return {
        return Ok(returned as i64);
    }
    Ok(if cached {
        count.cached().get_result::<CountRow>(conn)?.n
    } else {
        count.query().get_result::<CountRow>(conn)?.n
    })
}

/// How a listing reads the resources of a page, for [`Listing::find_records`].
#[derive(Debug, Clone, Copy)]
pub struct Reader<R> {
    /// The select list reading a resource whole from its row of the table (the row's columns and
    /// any aggregate over its child rows), decoded into `R` by name: written into the page's own
    /// statement, so a page is read in one statement, one round trip and one snapshot.
    pub select: fn(Backend) -> String,
    /// Reads resources by id in the account, in the order of the ids (missing ones skipped), in one
    /// statement: for the pages whose statement cannot carry them (see [`Listing::find_records`]).
    pub by_ids: fn(&mut DbConn, &str, &[String]) -> QueryResult<Vec<R>>,
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
        let key = self.sort_key(backend, sort)?;
        let (mut sql, rewrites) = self.matching(
            backend,
            account_id,
            filter,
            &format!("SELECT {} AS id", self.table.id_column),
        )?;
        sql.push(&self.order_by(key.as_ref(), sort, false));
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

    /// The sort key of `sort`, resolved against the table.
    fn sort_key(
        &self,
        backend: Backend,
        sort: Option<&Sort>,
    ) -> Result<Option<SortKey>, ServiceError> {
        let resource_type = self
            .registry
            .resource_type(self.resource_type)
            .expect("the resource type is served");
        Ok(match sort {
            Some(sort) => Some(sort_key(
                self.registry,
                resource_type,
                self.table,
                backend,
                &sort.by,
            )?),
            None => None,
        })
    }

    /// The `ORDER BY` of a page: by the sort key, then the id; by the id alone without one.
    /// `reversed` is the same order backwards (a page before a cursor's position is read so).
    fn order_by(&self, key: Option<&SortKey>, sort: Option<&Sort>, reversed: bool) -> String {
        let id = self.table.id_column;
        let (asc, desc) = if reversed {
            ("DESC", "ASC")
        } else {
            ("ASC", "DESC")
        };
        match (key, sort) {
            // Every resource has a value: by the value, the id breaking ties in the same direction,
            // which an index on (account, value, id) or a unique one on (account, value) serves.
            (Some(key), Some(sort)) if key.not_null => {
                let direction = if sort.descending { desc } else { asc };
                format!(
                    " ORDER BY {expr} {direction}, {id} {direction}",
                    expr = key.expression
                )
            }
            (Some(key), Some(sort)) => {
                let direction = if sort.descending { desc } else { asc };
                // Resources without the attribute sort last in either direction; the id keeps it stable.
                format!(
                    " ORDER BY ({expr} IS NULL) {asc}, {expr} {direction}, {id} {asc}",
                    expr = key.expression
                )
            }
            _ => format!(" ORDER BY {id} {asc}"),
        }
    }

    /// Appends the keyset condition of a cursor page: the rows after (`backward`: before) `at` in
    /// the page's order, one range of the order's index.
    fn push_beyond(
        &self,
        sql: &mut SqlBuilder,
        key: Option<&SortKey>,
        sort: Option<&Sort>,
        at: &Position,
        backward: bool,
    ) -> Result<(), ServiceError> {
        let id = self.table.id_column;
        let mismatch = || {
            ServiceError::Input(InputError::invalid_cursor(
                "the cursor was made for another sort; send the same sortBy as the first page",
            ))
        };
        let after_id = BindValue::Text(at.id.clone());
        // `>` walks on in ascending order; backward or descending flips it, both flip it back.
        let descending = sort.is_some_and(|s| s.descending);
        let on = |flip: bool| if backward != flip { "<" } else { ">" };
        match (key, &at.key) {
            (None, None) => {
                sql.push(&format!(" AND {id} {} ", on(false)))
                    .bind(after_id);
            }
            (Some(key), Some(SortValue::Null)) if !key.not_null => {
                let expr = &key.expression;
                sql.push(&format!(" AND (({expr} IS NULL AND {id} {} ", on(false)))
                    .bind(after_id)
                    .push(")");
                if backward {
                    sql.push(&format!(" OR {expr} IS NOT NULL"));
                }
                sql.push(")");
            }
            (Some(key), Some(value)) => {
                let value = match (key.kind, value) {
                    (Kind::Text, SortValue::Text(v)) => BindValue::Text(v.clone()),
                    (Kind::Bool, SortValue::Bool(v)) => BindValue::Bool(*v),
                    (Kind::Timestamp, SortValue::Time(v)) => BindValue::Timestamp(*v),
                    _ => return Err(mismatch()),
                };
                let expr = &key.expression;
                if key.not_null {
                    // One row-value comparison: a range of the (value, id) order.
                    sql.push(&format!(" AND ({expr}, {id}) {} (", on(descending)))
                        .bind(value)
                        .push(", ")
                        .bind(after_id)
                        .push(")");
                } else {
                    sql.push(&format!(
                        " AND (({expr} IS NOT NULL AND ({expr} {} ",
                        on(descending)
                    ))
                    .bind(value.clone())
                    .push(&format!(" OR ({expr} = "))
                    .bind(value)
                    .push(&format!(" AND {id} {} ", on(false)))
                    .bind(after_id)
                    .push(")))");
                    if !backward {
                        sql.push(&format!(" OR {expr} IS NULL"));
                    }
                    sql.push(")");
                }
            }
            _ => return Err(mismatch()),
        }
        Ok(())
    }

    /// The query of a cursor page: the rows after (or before) the cursor's position in the page's
    /// order (a range of the order's index, never an `OFFSET`), one more than the page holds so
    /// the end is known. A page before a position is read backwards.
    fn keyset_query(
        &self,
        backend: Backend,
        account_id: &str,
        request: &ListRequest,
        resume: Option<&Resume>,
    ) -> Result<(SqlBuilder, Option<SortKey>), ServiceError> {
        let sort = request.sort.as_ref();
        let key = self.sort_key(backend, sort)?;
        let id = self.table.id_column;
        let select = match &key {
            Some(key) => format!("SELECT {id} AS id, {} AS k", key.expression),
            None => format!("SELECT {id} AS id"),
        };
        let (mut sql, _) = self.matching(backend, account_id, request.filter.as_ref(), &select)?;
        let backward = resume.is_some_and(|r| r.backward);
        if let Some(resume) = resume {
            self.push_beyond(&mut sql, key.as_ref(), sort, &resume.position, backward)?;
        }
        sql.push(&self.order_by(key.as_ref(), sort, backward));
        let limit = request
            .page
            .count
            .checked_add(1)
            .and_then(|n| i64::try_from(n).ok())
            .ok_or_else(|| ServiceError::Input(InputError::invalid_count("count is too large")))?;
        sql.push(" LIMIT ").bind(BindValue::BigInt(limit));
        Ok((sql, key))
    }

    /// A page of a list request, by index or by cursor: the ids, how many match in all, the
    /// dialect rewrites the filter needed and, for a cursor page, where the pages after and
    /// before it start.
    pub fn find_page(
        &self,
        conn: &mut DbConn,
        account_id: &str,
        request: &ListRequest,
    ) -> Result<Found, ServiceError> {
        match &request.paging {
            Paging::Index => {
                let (total, ids, rewrites) = self.find_index_page(
                    conn,
                    account_id,
                    request.filter.as_ref(),
                    request.sort.as_ref(),
                    request.page,
                )?;
                Ok(Found {
                    total,
                    items: ids,
                    rewrites,
                    next: None,
                    previous: None,
                })
            }
            Paging::Cursor(resume) => {
                self.find_cursor_page(conn, account_id, request, resume.as_ref())
            }
        }
    }

    /// A page of a list request read whole, the resources with it: an index page whose statement
    /// selects exactly the page (its `LIMIT` is its count) in that one statement, `SELECT <select>
    /// FROM <table> WHERE <id> IN (<the page query>) <the page's order>` (a lookup is then one
    /// round trip, and one snapshot without a transaction); any other page (a cursor page, or a
    /// cached lookup asking for fewer rows than its literal `LIMIT`, which must not read whole the
    /// rows it cuts) as its ids and then the resources by id.
    pub fn find_records<R>(
        &self,
        conn: &mut DbConn,
        account_id: &str,
        request: &ListRequest,
        reader: &Reader<R>,
    ) -> Result<Found<R>, ServiceError>
    where
        R: QueryableByName<MultiBackend> + 'static,
    {
        let (filter, sort, page) = (request.filter.as_ref(), request.sort.as_ref(), request.page);
        let limit = cached_limit(filter, sort, page);
        if matches!(request.paging, Paging::Index) && limit.is_none_or(|l| l == page.count) {
            return self.find_index_records(conn, account_id, request, limit, reader);
        }
        let found = self.find_page(conn, account_id, request)?;
        let items = (reader.by_ids)(conn, account_id, &found.items)?;
        Ok(found.with_items(items))
    }

    /// [`Listing::find_records`] of an index page in one statement (`limit`: the page query's
    /// literal `LIMIT`, equal to the page's count, when it is cached).
    fn find_index_records<R>(
        &self,
        conn: &mut DbConn,
        account_id: &str,
        request: &ListRequest,
        limit: Option<u64>,
        reader: &Reader<R>,
    ) -> Result<Found<R>, ServiceError>
    where
        R: QueryableByName<MultiBackend> + 'static,
    {
        let backend = conn.backend();
        let (filter, sort, page) = (request.filter.as_ref(), request.sort.as_ref(), request.page);
        let (count, rewrites) =
            self.matching(backend, account_id, filter, "SELECT COUNT(*) AS n")?;
        // Compiled even for an empty page, so a bad sortBy is refused whatever the page.
        let (ids, _) = self.page_query(backend, account_id, filter, sort, page, limit)?;
        let key = self.sort_key(backend, sort)?;
        let query = ids.within(
            &format!(
                "SELECT {} FROM {} WHERE {} IN (",
                (reader.select)(backend),
                self.table.table,
                self.table.id_column
            ),
            // The subquery's order does not survive `IN`: the page's order again, over its rows.
            &format!("){}", self.order_by(key.as_ref(), sort, false)),
        );
        let cached = limit.is_some();
        let items: Vec<R> = if page.count == 0 {
            Vec::new()
        } else {
            run_page(conn, &query, cached)?
        };
        let total = page_total(conn, &count, cached, page, (items.len(), page.count))?;
        Ok(Found {
            total,
            items,
            rewrites,
            next: None,
            previous: None,
        })
    }

    /// The rows (id and sort value) of the keyset query of `resume`, in the page's order.
    fn keyset_rows(
        &self,
        conn: &mut DbConn,
        account_id: &str,
        request: &ListRequest,
        resume: Option<&Resume>,
    ) -> Result<Vec<(String, Option<SortValue>)>, ServiceError> {
        let (query, key) = self.keyset_query(conn.backend(), account_id, request, resume)?;
        if request.page.count == 0 {
            return Ok(Vec::new());
        }
        let text = |v: Option<String>| Some(v.map_or(SortValue::Null, SortValue::Text));
        Ok(match key.as_ref().map(|k| k.kind) {
            None => query
                .query()
                .load::<IdRow>(conn)?
                .into_iter()
                .map(|r| (r.id, None))
                .collect(),
            Some(Kind::Text) => query
                .query()
                .load::<TextKeyRow>(conn)?
                .into_iter()
                .map(|r| (r.id, text(r.k)))
                .collect(),
            Some(Kind::Bool) => query
                .query()
                .load::<BoolKeyRow>(conn)?
                .into_iter()
                .map(|r| (r.id, Some(r.k.map_or(SortValue::Null, SortValue::Bool))))
                .collect(),
            Some(Kind::Timestamp) => query
                .query()
                .load::<TimeKeyRow>(conn)?
                .into_iter()
                .map(|r| (r.id, Some(r.k.map_or(SortValue::Null, SortValue::Time))))
                .collect(),
        })
    }

    fn find_cursor_page(
        &self,
        conn: &mut DbConn,
        account_id: &str,
        request: &ListRequest,
        resume: Option<&Resume>,
    ) -> Result<Found, ServiceError> {
        let backward = resume.is_some_and(|r| r.backward);
        let carried = resume.and_then(|r| r.total);
        let mut rows = self.keyset_rows(conn, account_id, request, resume)?;
        let mut resume = resume;
        if backward && rows.is_empty() && request.page.count > 0 {
            // Nothing is before the position any more: the page before it is the first page.
            resume = None;
            rows = self.keyset_rows(conn, account_id, request, None)?;
        }
        let backward = resume.is_some_and(|r| r.backward);
        // The row beyond the page says whether more follow in the direction read.
        let more = rows.len() as u64 > request.page.count;
        rows.truncate(request.page.count as usize);
        if backward {
            rows.reverse();
        }
        let at = |row: Option<&(String, Option<SortValue>)>| {
            row.map(|(id, key)| Position {
                key: key.clone(),
                id: id.clone(),
            })
        };
        // Read forward, a page after a position has pages before it; read backward, a page has
        // pages after it (the one the walk came from).
        let (has_next, has_previous) = if backward {
            (true, more)
        } else {
            (more, resume.is_some())
        };
        let next = at(rows.last()).filter(|_| has_next);
        let previous = at(rows.first()).filter(|_| has_previous);
        // Counted on the walk's first page and carried by its cursors from then on.
        let (count, rewrites) = self.matching(
            conn.backend(),
            account_id,
            request.filter.as_ref(),
            "SELECT COUNT(*) AS n",
        )?;
        let total = match carried {
            Some(total) => i64::try_from(total).unwrap_or(i64::MAX),
            // A first page that is not full holds every match.
            None if !more && resume.is_none() && request.page.count > 0 => rows.len() as i64,
            None => count.query().get_result::<CountRow>(conn)?.n,
        };
        Ok(Found {
            total,
            items: rows.into_iter().map(|(id, _)| id).collect(),
            rewrites,
            next,
            previous,
        })
    }

    /// The ids of one page of an account's resources matching `filter` (all when `None`), sorted by
    /// `sort` or by id (creation order: ids are UUIDv7), how many match in all, and the dialect
    /// rewrites the filter needed.
    fn find_index_page(
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
        let cached = limit.is_some();
        let rows: Vec<IdRow> = if page.count == 0 {
            Vec::new()
        } else {
            run_page(conn, &query, cached)?
        };
        let could_return = limit.unwrap_or(page.count);
        let total = page_total(conn, &count, cached, page, (rows.len(), could_return))?;
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
        self.explain_query(conn, query)
    }

    /// The database's plan for the cursor page of `request` after `after`, one line per row.
    pub fn explain_after(
        &self,
        conn: &mut DbConn,
        account_id: &str,
        request: &ListRequest,
        after: &Position,
    ) -> Result<Vec<String>, ServiceError> {
        let backend = conn.backend();
        let resume = Resume {
            position: after.clone(),
            backward: false,
            total: None,
        };
        let (query, _) = self.keyset_query(backend, account_id, request, Some(&resume))?;
        self.explain_query(conn, query)
    }

    fn explain_query(
        &self,
        conn: &mut DbConn,
        query: SqlBuilder,
    ) -> Result<Vec<String>, ServiceError> {
        let backend = conn.backend();
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
