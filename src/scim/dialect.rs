//! Counters of the client dialects the server recognises and rewrites (Entra's unquoted filter
//! values, `"True"` booleans, …), so operators can see which clients lean on which leniency.

use std::sync::atomic::{AtomicU64, Ordering};

/// A rewrite of what a client sent into what the RFC says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// `externalId eq jyoung` → `externalId eq "jyoung"`.
    UnquotedFilterValue,
    /// `emails[type eq "work"].value eq "x"` → `emails[type eq "work" and value eq "x"]`.
    ValuePathSubAttribute,
    /// `active eq "True"` → `active eq true`.
    StringBoolean,
    /// `manager eq "id"` → `manager.value eq "id"`: a comparison on a complex attribute applies to
    /// its `value` sub-attribute.
    ComplexValue,
    /// PATCH `"op": "Replace"` → `"replace"`.
    CapitalisedOp,
    /// A pathless PATCH value whose keys are paths (`"name.givenName"`, URN-qualified names, value
    /// paths) → one operation per key.
    PathlessKeyIsPath,
    /// A string where a complex attribute belongs (`"manager": "id"`) → `{"value": "id"}`.
    ComplexFromString,
    /// An add or replace of `null` or `""` → a remove.
    EmptyValueClears,
    /// A remove with a `value` list (Entra's member removal) → remove only those elements.
    RemoveWithValue,
    /// Add or replace on a value path no element matches → the element is created.
    CreateOnValuePath,
}

impl Rewrite {
    /// Every rewrite, in the order counters are kept.
    pub const ALL: [Rewrite; 10] = [
        Rewrite::UnquotedFilterValue,
        Rewrite::ValuePathSubAttribute,
        Rewrite::StringBoolean,
        Rewrite::ComplexValue,
        Rewrite::CapitalisedOp,
        Rewrite::PathlessKeyIsPath,
        Rewrite::ComplexFromString,
        Rewrite::EmptyValueClears,
        Rewrite::RemoveWithValue,
        Rewrite::CreateOnValuePath,
    ];

    /// A stable name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Rewrite::UnquotedFilterValue => "filter.unquoted_value",
            Rewrite::ValuePathSubAttribute => "filter.value_path_sub_attribute",
            Rewrite::StringBoolean => "filter.string_boolean",
            Rewrite::ComplexValue => "filter.complex_value",
            Rewrite::CapitalisedOp => "patch.capitalised_op",
            Rewrite::PathlessKeyIsPath => "patch.pathless_key_is_path",
            Rewrite::ComplexFromString => "patch.complex_from_string",
            Rewrite::EmptyValueClears => "patch.empty_value_clears",
            Rewrite::RemoveWithValue => "patch.remove_with_value",
            Rewrite::CreateOnValuePath => "patch.create_on_value_path",
        }
    }
}

/// How often each rewrite was applied since start.
#[derive(Debug, Default)]
pub struct DialectCounters([AtomicU64; Rewrite::ALL.len()]);

impl DialectCounters {
    /// Counts and logs (at debug) each rewrite applied to one request.
    pub fn record(&self, rewrites: &[Rewrite]) {
        for r in rewrites {
            self.0[*r as usize].fetch_add(1, Ordering::Relaxed);
            tracing::debug!(rewrite = r.name(), "rewrote a client dialect into RFC form");
        }
    }

    /// How often `rewrite` was applied.
    pub fn count(&self, rewrite: Rewrite) -> u64 {
        self.0[rewrite as usize].load(Ordering::Relaxed)
    }
}
