//! The filter-to-SQL compiler, generic over a resource's attribute table.
//!
//! An [`AttributeTable`] says where each filterable attribute of a resource type is stored: a column
//! of the resource's table (with an optional case-folded shadow column that an index serves), a column
//! of a child table reached through `id IN (SELECT …)`, a constant, or nowhere (with the reason). The
//! compiler turns a parsed filter into one parameterised SQL condition on that table:
//!
//! - every predicate is two-valued (NULL-guarded), so `not` inverts exactly;
//! - `caseExact: false` text compares folded: against the shadow column where there is one (the
//!   identifiers userName, e-mail values and group displayName, whose shadow columns hold
//!   [`fold_identity`], NFKC_Casefold, so the filter value is folded the same way), else folded at
//!   query time with [`fold_case`] (NFC + lowercase: a Rust function registered on SQLite
//!   connections; ICU lowercase on PostgreSQL);
//! - `co`/`sw`/`ew` are `LIKE` patterns with `%`, `_` and `\` escaped;
//! - a comparison on a complex attribute applies to its `value` sub-attribute (RFC 7644's
//!   `emails co "x"`, Entra's `manager eq "id"`);
//! - a multi-valued attribute matches when one of its elements does; a value path
//!   (`emails[type eq "work" and value co "@x"]`) requires one element to match all of it.

use chrono::{DateTime, NaiveDateTime, Timelike};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};

use super::Backend;
use super::sql::{BindValue, SqlBuilder, like_escape};
use crate::scim::dialect::Rewrite;
use crate::scim::error::InputError;
use crate::scim::path::{self, Resolved};
use crate::scim::schema::{AttrType, Registry, ResourceTypeDef};
use crate::text::{fold_case, fold_identity};

/// The value type of a stored attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text (strings and references).
    Text,
    /// A boolean.
    Bool,
    /// A timestamp (SCIM dateTime).
    Timestamp,
}

/// Where one attribute is stored.
#[derive(Debug, Clone, Copy)]
pub enum Store {
    /// A column of the resource's own table.
    Column {
        /// The column, qualified (`users.title`).
        column: &'static str,
        /// A column holding the value folded by [`fold_identity`], maintained on write and indexed.
        folded: Option<&'static str>,
        /// The value type.
        kind: Kind,
    },
    /// A column of a child table (a multi-valued attribute's elements).
    ChildColumn {
        /// The child, by its name in [`AttributeTable::children`].
        child: &'static str,
        /// The column, qualified with the child's alias (`c.value`, `s.ref_id`).
        column: &'static str,
        /// A folded, indexed copy, as for [`Store::Column`].
        folded: Option<&'static str>,
        /// The value type.
        kind: Kind,
    },
    /// A multi-valued attribute itself: `pr` and value paths.
    Child(&'static str),
    /// A single-valued complex attribute: present when one of these sub-attribute paths is.
    Complex(&'static [&'static str]),
    /// The same for every resource of the type (`meta.resourceType`).
    Constant(&'static str),
    /// Not filterable, and why.
    Unfilterable(&'static str),
}

/// A child table: how to select the ids of resources having a matching element.
#[derive(Debug, Clone, Copy)]
pub struct Child {
    /// The attribute's canonical path (`emails`).
    pub name: &'static str,
    /// `SELECT c.user_id FROM user_emails c`, possibly with joins.
    pub select: &'static str,
    /// A column restricting the child rows to the account, when the child has one (for the index).
    pub account_column: Option<&'static str>,
    /// A further fixed condition on the child rows (e.g. "the primary store").
    pub condition: Option<&'static str>,
}

/// Where each attribute of a resource type lives, for the filter compiler and sorting.
#[derive(Debug)]
pub struct AttributeTable {
    /// The resource's table (`users`).
    pub table: &'static str,
    /// Its id column, qualified (`users.id`).
    pub id_column: &'static str,
    /// Its account column, qualified (`users.account_id`).
    pub account_column: &'static str,
    /// Canonical attribute path → storage.
    pub attributes: &'static [(&'static str, Store)],
    /// The child tables.
    pub children: &'static [Child],
    /// The columns declared `NOT NULL` that attributes are stored in (qualified): a sort by one
    /// of them needs no place for missing values, so its pages can be ranges of an index.
    pub not_null: &'static [&'static str],
}

impl AttributeTable {
    /// The storage of a canonical path.
    pub fn store(&self, canonical: &str) -> Option<Store> {
        self.attributes
            .iter()
            .find(|(p, _)| *p == canonical)
            .map(|(_, s)| *s)
    }

    /// Attribute paths (`attr`, `attr.sub`, `urn:…:attr`) that the resource type's schemas list but
    /// this table does not place: every one must be stored, or unfilterable with a reason.
    pub fn missing_paths(
        &self,
        registry: &Registry,
        resource_type: &ResourceTypeDef,
    ) -> Vec<String> {
        let mut missing = Vec::new();
        for urn in std::iter::once(&resource_type.schema).chain(&resource_type.extensions) {
            let Some(schema) = registry.schema(urn) else {
                continue;
            };
            let prefix = if *urn == resource_type.schema {
                String::new()
            } else {
                format!("{urn}:")
            };
            for attr in &schema.attributes {
                let path = format!("{prefix}{}", attr.name);
                let subs = attr
                    .sub_attributes
                    .iter()
                    .map(|s| format!("{path}.{}", s.name));
                missing.extend(
                    std::iter::once(path.clone())
                        .chain(subs)
                        .filter(|p| self.store(p).is_none()),
                );
            }
        }
        missing
    }

    fn child(&self, name: &str) -> &Child {
        self.children
            .iter()
            .find(|c| c.name == name)
            .expect("attribute tables name their children")
    }
}

/// Everything the compiler needs besides the filter.
pub struct Compiler<'a> {
    /// The schemas, to resolve attribute paths.
    pub registry: &'a Registry,
    /// The resource type filtered.
    pub resource_type: &'a ResourceTypeDef,
    /// Its storage.
    pub table: &'a AttributeTable,
    /// The account every child subquery is restricted to.
    pub account_id: &'a str,
    /// Dialect rewrites applied while compiling.
    pub rewrites: Vec<Rewrite>,
}

/// Where a predicate is being compiled: at the top, or inside one child's subquery.
#[derive(Clone, Copy)]
enum Scope<'s> {
    Root,
    InChild(&'s str, &'s str),
}

/// A resolved comparison target.
struct Target {
    resolved: Resolved,
    store: Store,
}

fn invalid(detail: String) -> InputError {
    InputError::invalid_filter(detail)
}

/// The expression for a stored text value compared case-insensitively without a shadow column.
pub fn fold_expression(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("mts_fold({column})"),
        Backend::Postgres => {
            format!("(lower(normalize({column}, NFC) COLLATE \"und-x-icu\") COLLATE \"C\")")
        }
    }
}

impl<'a> Compiler<'a> {
    /// Compiles `filter` into `sql` as one parenthesised condition on the resource's table.
    pub fn compile(&mut self, filter: &Filter, sql: &mut SqlBuilder) -> Result<(), InputError> {
        match filter {
            Filter::Attr(exp) => self.expression(exp, Scope::Root, sql),
            Filter::ValuePath(vp) => {
                let target = self.resolve(&vp.attr, Scope::Root)?;
                match target.store {
                    Store::Child(child) => self.in_child(child, sql, |this, sql| {
                        this.val_filter(
                            &vp.filter,
                            Scope::InChild(child, &target.resolved.canonical),
                            sql,
                        )
                    }),
                    Store::Complex(_) => self.val_filter(
                        &vp.filter,
                        Scope::InChild("", &target.resolved.canonical),
                        sql,
                    ),
                    _ => Err(invalid(format!(
                        "\"{}\" takes no [filter]: it is not a complex attribute",
                        target.resolved.canonical
                    ))),
                }
            }
            Filter::Not(inner) => {
                sql.push("(NOT ");
                self.compile(inner, sql)?;
                sql.push(")");
                Ok(())
            }
            Filter::And(ops) => self.joined(ops.as_slice(), " AND ", sql, |this, f, sql| {
                this.compile(f, sql)
            }),
            Filter::Or(ops) => self.joined(ops.as_slice(), " OR ", sql, |this, f, sql| {
                this.compile(f, sql)
            }),
        }
    }

    fn val_filter(
        &mut self,
        filter: &ValFilter,
        scope: Scope<'_>,
        sql: &mut SqlBuilder,
    ) -> Result<(), InputError> {
        match filter {
            ValFilter::Attr(exp) => self.expression(exp, scope, sql),
            ValFilter::Not(inner) => {
                sql.push("(NOT ");
                self.val_filter(inner, scope, sql)?;
                sql.push(")");
                Ok(())
            }
            ValFilter::And(ops) => self.joined(ops.as_slice(), " AND ", sql, |this, f, sql| {
                this.val_filter(f, scope, sql)
            }),
            ValFilter::Or(ops) => self.joined(ops.as_slice(), " OR ", sql, |this, f, sql| {
                this.val_filter(f, scope, sql)
            }),
        }
    }

    fn joined<T>(
        &mut self,
        items: &[T],
        op: &str,
        sql: &mut SqlBuilder,
        mut each: impl FnMut(&mut Self, &T, &mut SqlBuilder) -> Result<(), InputError>,
    ) -> Result<(), InputError> {
        sql.push("(");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                sql.push(op);
            }
            each(self, item, sql)?;
        }
        sql.push(")");
        Ok(())
    }

    /// `id IN (SELECT … FROM child WHERE account AND condition AND <inner>)`.
    fn in_child(
        &mut self,
        child: &str,
        sql: &mut SqlBuilder,
        inner: impl FnOnce(&mut Self, &mut SqlBuilder) -> Result<(), InputError>,
    ) -> Result<(), InputError> {
        let spec = *self.table.child(child);
        sql.push("(")
            .push(self.table.id_column)
            .push(" IN (")
            .push(spec.select)
            .push(" WHERE ");
        if let Some(account) = spec.account_column {
            sql.push(account)
                .push(" = ")
                .bind(BindValue::Text(self.account_id.to_owned()))
                .push(" AND ");
        }
        if let Some(condition) = spec.condition {
            sql.push(condition).push(" AND ");
        }
        inner(self, sql)?;
        sql.push("))");
        Ok(())
    }

    /// `NOT (id IN (SELECT … WHERE <inner>))`.
    fn negated_child(
        &mut self,
        child: &str,
        sql: &mut SqlBuilder,
        inner: impl FnOnce(&mut Self, &mut SqlBuilder) -> Result<(), InputError>,
    ) -> Result<(), InputError> {
        sql.push("(NOT ");
        self.in_child(child, sql, inner)?;
        sql.push(")");
        Ok(())
    }

    fn resolve(&self, attr: &AttrPath, scope: Scope<'_>) -> Result<Target, InputError> {
        let resolved = match scope {
            Scope::Root => path::resolve_attr_path(self.registry, self.resource_type, attr)?,
            Scope::InChild(_, parent) => {
                // Inside `parent[…]`, names are sub-attributes of the parent.
                let (uri, name) = match parent.rsplit_once(':') {
                    Some((urn, name)) => (Some(urn), name),
                    None => (None, parent),
                };
                if attr.sub_attr.is_some() || attr.uri.is_some() {
                    return Err(invalid(format!(
                        "inside \"{parent}[…]\" name sub-attributes of {parent} only, such as value or type"
                    )));
                }
                path::resolve(
                    self.registry,
                    self.resource_type,
                    uri,
                    name,
                    Some(&attr.name),
                )?
            }
        };
        let store = self
            .table
            .store(&resolved.canonical)
            .ok_or_else(|| invalid(format!("\"{}\" cannot be filtered on", resolved.canonical)))?;
        if let Store::Unfilterable(why) = store {
            return Err(invalid(format!(
                "\"{}\" cannot be filtered on: {why}",
                resolved.canonical
            )));
        }
        Ok(Target { resolved, store })
    }

    fn expression(
        &mut self,
        exp: &AttrExp,
        scope: Scope<'_>,
        sql: &mut SqlBuilder,
    ) -> Result<(), InputError> {
        let (path, op) = match exp {
            AttrExp::Present(path) => (path, None),
            AttrExp::Comparison(path, op, value) => (path, Some((op, value))),
        };
        let mut target = self.resolve(path, scope)?;
        // A comparison on a complex attribute applies to its `value` sub-attribute.
        if op.is_some() && target.resolved.def.kind == AttrType::Complex {
            let value_path = format!("{}.value", target.resolved.canonical);
            let Some(store) = self.table.store(&value_path) else {
                return Err(invalid(format!(
                    "\"{}\" is complex: compare one of its sub-attributes, such as {}.{}",
                    target.resolved.canonical,
                    target.resolved.canonical,
                    target
                        .resolved
                        .def
                        .sub_attributes
                        .first()
                        .map(|s| s.name.as_str())
                        .unwrap_or("value")
                )));
            };
            let def = target
                .resolved
                .def
                .sub_attribute("value")
                .cloned()
                .expect("the table follows the schema");
            target = Target {
                resolved: Resolved {
                    canonical: value_path,
                    def,
                    in_multi_valued: target.resolved.in_multi_valued,
                },
                store,
            };
            self.rewrites.push(Rewrite::ComplexValue);
        }
        match target.store {
            Store::Constant(constant) => {
                let holds = match op {
                    None => true,
                    Some((op, CompValue::Str(v))) => {
                        // `meta.resourceType` is caseExact: "user" is not "User".
                        let eq = match target.resolved.def.case_exact {
                            true => v == constant,
                            false => fold_case(v) == fold_case(constant),
                        };
                        match op {
                            CompareOp::Eq => eq,
                            CompareOp::Ne => !eq,
                            _ => {
                                return Err(invalid(format!(
                                    "\"{}\" takes eq, ne or pr",
                                    target.resolved.canonical
                                )));
                            }
                        }
                    }
                    Some(_) => {
                        return Err(invalid(format!(
                            "\"{}\" is compared with a string",
                            target.resolved.canonical
                        )));
                    }
                };
                sql.push(if holds { "(1 = 1)" } else { "(1 = 0)" });
                Ok(())
            }
            Store::Complex(subs) => {
                // Only `pr` reaches here: present when any sub-attribute is.
                sql.push("(");
                for (i, sub) in subs.iter().enumerate() {
                    if i > 0 {
                        sql.push(" OR ");
                    }
                    let store = self
                        .table
                        .store(sub)
                        .expect("complex attributes list stored sub-attributes");
                    let Store::Column { column, kind, .. } = store else {
                        unreachable!("single-valued")
                    };
                    present(column, kind, sql);
                }
                sql.push(")");
                Ok(())
            }
            Store::Child(child) => {
                // `emails pr`: has at least one element.
                self.in_child(child, sql, |_, sql| {
                    sql.push("1 = 1");
                    Ok(())
                })
            }
            Store::Column {
                column,
                folded,
                kind,
            } => self.predicate(&target, column, folded, kind, op, sql),
            Store::ChildColumn {
                child,
                column,
                folded,
                kind,
            } => match scope {
                Scope::InChild(current, _) if current == child => {
                    self.predicate(&target, column, folded, kind, op, sql)
                }
                // Across a multi-valued attribute, `ne v` is "no element equals v" and `eq null` is "no
                // element has a value": the negation of the subquery, not a negated predicate in it.
                _ => match op {
                    Some((CompareOp::Ne, CompValue::Null)) => {
                        self.in_child(child, sql, |this, sql| {
                            this.predicate(&target, column, folded, kind, None, sql)
                        })
                    }
                    Some((CompareOp::Ne, value)) => self.negated_child(child, sql, |this, sql| {
                        this.predicate(
                            &target,
                            column,
                            folded,
                            kind,
                            Some((&CompareOp::Eq, value)),
                            sql,
                        )
                    }),
                    Some((CompareOp::Eq, CompValue::Null)) => {
                        self.negated_child(child, sql, |this, sql| {
                            this.predicate(&target, column, folded, kind, None, sql)
                        })
                    }
                    _ => self.in_child(child, sql, |this, sql| {
                        this.predicate(&target, column, folded, kind, op, sql)
                    }),
                },
            },
            Store::Unfilterable(_) => unreachable!("refused by resolve"),
        }
    }

    fn predicate(
        &mut self,
        target: &Target,
        column: &str,
        folded: Option<&str>,
        kind: Kind,
        op: Option<(&CompareOp, &CompValue)>,
        sql: &mut SqlBuilder,
    ) -> Result<(), InputError> {
        let name = &target.resolved.canonical;
        let Some((op, value)) = op else {
            present(column, kind, sql);
            return Ok(());
        };
        if *value == CompValue::Null {
            // `eq null` asks for absence, `ne null` for presence (RFC 7644 §3.4.2.2 leaves it to us).
            return match op {
                CompareOp::Eq => {
                    sql.push("(NOT ");
                    present(column, kind, sql);
                    sql.push(")");
                    Ok(())
                }
                CompareOp::Ne => {
                    present(column, kind, sql);
                    Ok(())
                }
                _ => Err(invalid(format!(
                    "\"{name}\" can only be compared with null by eq or ne"
                ))),
            };
        }
        if *op == CompareOp::Ne {
            sql.push("(NOT ");
            self.predicate(
                target,
                column,
                folded,
                kind,
                Some((&CompareOp::Eq, value)),
                sql,
            )?;
            sql.push(")");
            return Ok(());
        }
        match kind {
            Kind::Bool => {
                let b = match value {
                    CompValue::True => true,
                    CompValue::False => false,
                    CompValue::Str(s)
                        if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
                    {
                        self.rewrites.push(Rewrite::StringBoolean);
                        s.eq_ignore_ascii_case("true")
                    }
                    _ => {
                        return Err(invalid(format!(
                            "\"{name}\" is a boolean: compare it with true or false"
                        )));
                    }
                };
                if *op != CompareOp::Eq {
                    return Err(invalid(format!(
                        "\"{name}\" is a boolean: it takes eq, ne or pr"
                    )));
                }
                // A missing boolean matches neither true nor false.
                sql.push("(")
                    .push(column)
                    .push(" IS NOT NULL AND ")
                    .push(column)
                    .push(" = ")
                    .bind(BindValue::Bool(b))
                    .push(")");
                Ok(())
            }
            Kind::Timestamp => {
                let CompValue::Str(s) = value else {
                    return Err(invalid(format!(
                        "\"{name}\" is a date-time: compare it with a string such as \"2026-11-22T10:00:00Z\""
                    )));
                };
                let at: NaiveDateTime = DateTime::parse_from_rfc3339(s)
                    .map_err(|_| {
                        invalid(format!(
                            "\"{name}\" is a date-time, and {s:?} is not an RFC 3339 date-time"
                        ))
                    })?
                    .naive_utc();
                // Both databases store microseconds, and PostgreSQL would round a bound value with
                // more digits to them, so `…57.1677835Z` would equal `…57.167783Z`. Compare with
                // the literal cut to microseconds instead, choosing the operator so that the answer
                // is the one the full literal gives: a stored time (whole microseconds) is never
                // equal to a literal between two of them, is above it exactly when above the cut,
                // and below or at it exactly when at most the cut.
                let (at, between) = stored_precision(at);
                let sql_op = match (op, between) {
                    (CompareOp::Eq, false) => " = ",
                    (CompareOp::Eq, true) => {
                        sql.push("(1 = 0)");
                        return Ok(());
                    }
                    (CompareOp::Gt, _) | (CompareOp::Ge, true) => " > ",
                    (CompareOp::Ge, false) => " >= ",
                    (CompareOp::Lt, false) => " < ",
                    (CompareOp::Lt, true) | (CompareOp::Le, _) => " <= ",
                    _ => {
                        return Err(invalid(format!(
                            "\"{name}\" is a date-time: it takes eq, ne, gt, ge, lt, le or pr"
                        )));
                    }
                };
                sql.push("(")
                    .push(column)
                    .push(" IS NOT NULL AND ")
                    .push(column)
                    .push(sql_op)
                    .bind(BindValue::Timestamp(at))
                    .push(")");
                Ok(())
            }
            Kind::Text => {
                let raw = match value {
                    CompValue::Str(s) => s.clone(),
                    CompValue::Number(n) => n.to_string(),
                    CompValue::True | CompValue::False => {
                        return Err(invalid(format!(
                            "\"{name}\" is a string: compare it with a quoted value"
                        )));
                    }
                    CompValue::Null => unreachable!("handled above"),
                };
                let case_exact = target.resolved.def.case_exact;
                let (expr, value) = match (case_exact, folded) {
                    (true, _) => (column.to_owned(), raw),
                    // A shadow column holds the identity fold: a filter must fold its value the
                    // same way, or Entra's `userName eq` before a POST misses a look-alike.
                    (false, Some(shadow)) => (shadow.to_owned(), fold_identity(&raw)),
                    (false, None) => (fold_expression(sql.backend(), column), fold_case(&raw)),
                };
                let exact = match sql.backend() {
                    Backend::Postgres
                        if matches!(
                            op,
                            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
                        ) =>
                    {
                        format!("({expr} COLLATE \"C\")")
                    }
                    _ => expr.clone(),
                };
                sql.push("(").push(column).push(" IS NOT NULL AND ");
                match op {
                    CompareOp::Eq => sql.push(&expr).push(" = ").bind(BindValue::Text(value)),
                    CompareOp::Co => sql
                        .push(&expr)
                        .push(" LIKE ")
                        .bind(BindValue::Text(format!("%{}%", like_escape(&value))))
                        .push(" ESCAPE '\\'"),
                    CompareOp::Sw => sql
                        .push(&expr)
                        .push(" LIKE ")
                        .bind(BindValue::Text(format!("{}%", like_escape(&value))))
                        .push(" ESCAPE '\\'"),
                    CompareOp::Ew => sql
                        .push(&expr)
                        .push(" LIKE ")
                        .bind(BindValue::Text(format!("%{}", like_escape(&value))))
                        .push(" ESCAPE '\\'"),
                    CompareOp::Gt => sql.push(&exact).push(" > ").bind(BindValue::Text(value)),
                    CompareOp::Ge => sql.push(&exact).push(" >= ").bind(BindValue::Text(value)),
                    CompareOp::Lt => sql.push(&exact).push(" < ").bind(BindValue::Text(value)),
                    CompareOp::Le => sql.push(&exact).push(" <= ").bind(BindValue::Text(value)),
                    CompareOp::Ne => unreachable!("rewritten as not eq"),
                };
                sql.push(")");
                Ok(())
            }
        }
    }
}

/// `column pr`: a value that is not null, and for text not empty.
/// `at` cut to the microseconds both databases store, and whether digits were cut (the literal
/// lies strictly between two storable times).
fn stored_precision(at: NaiveDateTime) -> (NaiveDateTime, bool) {
    let nanos = at.nanosecond();
    let cut = at
        .with_nanosecond(nanos - nanos % 1_000)
        .expect("fewer nanoseconds than a valid time has");
    (cut, cut != at)
}

fn present(column: &str, kind: Kind, sql: &mut SqlBuilder) {
    sql.push("(").push(column).push(" IS NOT NULL");
    if kind == Kind::Text {
        sql.push(" AND ").push(column).push(" <> ''");
    }
    sql.push(")");
}

/// A resolved sort key: the SQL expression to order by.
#[derive(Debug, Clone)]
pub struct SortKey {
    /// The expression, folded for case-insensitive text.
    pub expression: String,
    /// The canonical attribute path.
    pub canonical: String,
    /// The value type of the expression.
    pub kind: Kind,
    /// Whether every resource has a value (the column is `NOT NULL`).
    pub not_null: bool,
}

/// Resolves `sortBy` against the table: single-valued stored attributes only.
pub fn sort_key(
    registry: &Registry,
    resource_type: &ResourceTypeDef,
    table: &AttributeTable,
    backend: Backend,
    sort_by: &str,
) -> Result<SortKey, InputError> {
    let resolved = path::parse(registry, resource_type, sort_by)?;
    let refuse = |why: &str| {
        InputError::invalid_value(format!("cannot sort by \"{}\": {why}", resolved.canonical))
    };
    match table.store(&resolved.canonical) {
        Some(Store::Column {
            column,
            folded,
            kind,
        }) => {
            let (expression, stored) = match (kind, resolved.def.case_exact, folded) {
                (Kind::Text, false, Some(shadow)) => (shadow.to_owned(), shadow),
                (Kind::Text, false, None) => (fold_expression(backend, column), column),
                _ => (column.to_owned(), column),
            };
            let expression = match (backend, kind) {
                (Backend::Postgres, Kind::Text) => format!("({expression} COLLATE \"C\")"),
                _ => expression,
            };
            Ok(SortKey {
                expression,
                canonical: resolved.canonical,
                kind,
                not_null: table.not_null.contains(&stored),
            })
        }
        Some(Store::Unfilterable(why)) => Err(refuse(why)),
        Some(Store::Constant(_)) => Err(refuse("it is the same for every resource")),
        _ => Err(refuse("only single-valued attributes can be sorted by")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_are_cut_to_the_stored_microseconds() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().naive_utc();
        assert_eq!(
            stored_precision(at("2026-11-22T10:00:57.1677835Z")),
            (at("2026-11-22T10:00:57.167783Z"), true)
        );
        assert_eq!(
            stored_precision(at("2026-11-22T10:00:57.1677830Z")),
            (at("2026-11-22T10:00:57.167783Z"), false)
        );
        assert_eq!(
            stored_precision(at("2026-11-22T10:00:57Z")),
            (at("2026-11-22T10:00:57Z"), false)
        );
        // A leap second keeps its extra second.
        let leap = at("2026-12-31T23:59:60.0000009Z");
        assert_eq!(stored_precision(leap).0.nanosecond(), 1_000_000_000);
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(like_escape(r"50%_off\now"), r"50\%\_off\\now");
    }
}
