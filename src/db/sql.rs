//! A small SQL builder for queries whose shape depends on input (filters, sorting): text with the
//! backend's placeholders and a typed list of binds, run through diesel's boxed `sql_query`. Only
//! names from static attribute tables ever enter the text; every value is a bind.

use chrono::NaiveDateTime;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};

use super::{Backend, MultiBackend};

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
}

impl SqlBuilder {
    /// An empty statement for `backend`.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            text: String::new(),
            binds: Vec::new(),
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
        match self.backend {
            Backend::Postgres => {
                let n = self.binds.len();
                self.text.push_str(&format!("${n}"));
            }
            Backend::Sqlite => self.text.push('?'),
        }
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
