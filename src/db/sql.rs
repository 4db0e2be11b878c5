//! A small SQL builder for queries whose shape depends on input (filters, sorting): text with the
//! backend's placeholders and a typed list of binds, run through diesel's boxed `sql_query`. Only
//! names from static attribute tables ever enter the text; every value is a bind.

use chrono::NaiveDateTime;
use diesel::query_builder::{AstPass, BoxedSqlQuery, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Text, Timestamp, Untyped};
use diesel::{QueryResult, RunQueryDsl};

use super::{Backend, MultiBackend};

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern, so `value` matches only itself.
pub fn like_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum BindValue {
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// A UTC timestamp.
    Timestamp(NaiveDateTime),
    /// An integer.
    BigInt(i64),
}

/// SQL text under construction, for one backend.
#[derive(Debug, Clone)]
pub struct SqlBuilder {
    backend: Backend,
    text: String,
    binds: Vec<BindValue>,
    /// Where each placeholder written by [`SqlBuilder::bind`] sits in `text` (start, length).
    placeholders: Vec<(usize, usize)>,
}

impl SqlBuilder {
    /// An empty statement for `backend`.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            text: String::new(),
            binds: Vec::new(),
            placeholders: Vec::new(),
        }
    }

    /// The backend the text is written for.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Appends SQL text (never input).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: BindValue) -> &mut Self {
        self.binds.push(value);
        let start = self.text.len();
        match self.backend {
            Backend::Postgres => {
                let n = self.binds.len();
                self.text.push_str(&format!("${n}"));
            }
            Backend::Sqlite => self.text.push('?'),
        }
        self.placeholders.push((start, self.text.len() - start));
        self
    }

    /// Adds a bind without writing its placeholder (for text copied from another builder whose
    /// placeholders are already in place).
    pub fn bind_value_only(&mut self, value: BindValue) -> &mut Self {
        self.binds.push(value);
        self
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The binds so far.
    pub fn binds(&self) -> &[BindValue] {
        &self.binds
    }

    /// This statement written inside another: `before`, this text, `after` (neither holding a
    /// placeholder), with the same binds in the same places (a subquery: `… IN (<this>) …`).
    pub fn within(&self, before: &str, after: &str) -> SqlBuilder {
        SqlBuilder {
            backend: self.backend,
            text: format!("{before}{}{after}", self.text),
            binds: self.binds.clone(),
            placeholders: self
                .placeholders
                .iter()
                .map(|&(start, len)| (start + before.len(), len))
                .collect(),
        }
    }

    /// A diesel query of the text with its binds that the connection prepares once and keeps in its
    /// statement cache, keyed by the text. That cache is unbounded, so only statements of a bounded
    /// set of shapes may go through here (see `listing`); anything else uses [`SqlBuilder::query`].
    pub fn cached(&self) -> CachedSql<'_> {
        assert_eq!(
            self.placeholders.len(),
            self.binds.len(),
            "every bind of a cached statement has its placeholder"
        );
        CachedSql(self)
    }

    /// A diesel query of the text with its binds, ready to `load`.
    pub fn query(&self) -> BoxedSqlQuery<'static, MultiBackend, diesel::query_builder::SqlQuery> {
        let mut q = diesel::sql_query(self.text.clone()).into_boxed::<MultiBackend>();
        for b in &self.binds {
            q = match b.clone() {
                BindValue::Text(v) => q.bind::<Text, _>(v),
                BindValue::Bool(v) => q.bind::<Bool, _>(v),
                BindValue::Timestamp(v) => q.bind::<Timestamp, _>(v),
                BindValue::BigInt(v) => q.bind::<BigInt, _>(v),
            };
        }
        q
    }
}

/// A [`SqlBuilder`]'s statement as a query diesel may cache (see [`SqlBuilder::cached`]): the text
/// between placeholders is pushed as is and each placeholder becomes diesel's own bind.
pub struct CachedSql<'a>(&'a SqlBuilder);

impl QueryId for CachedSql<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for CachedSql<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<MultiBackend> for CachedSql<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        let b = self.0;
        let mut at = 0;
        for (&(start, len), value) in b.placeholders.iter().zip(&b.binds) {
            out.push_sql(&b.text[at..start]);
            match value {
                BindValue::Text(v) => out.push_bind_param::<Text, _>(v)?,
                BindValue::Bool(v) => out.push_bind_param::<Bool, _>(v)?,
                BindValue::Timestamp(v) => out.push_bind_param::<Timestamp, _>(v)?,
                BindValue::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
            }
            at = start + len;
        }
        out.push_sql(&b.text[at..]);
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for CachedSql<'_> {}
