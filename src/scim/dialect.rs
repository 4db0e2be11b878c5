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
}

impl Rewrite {
    /// Every rewrite, in the order counters are kept.
    pub const ALL: [Rewrite; 4] = [
        Rewrite::UnquotedFilterValue,
        Rewrite::ValuePathSubAttribute,
        Rewrite::StringBoolean,
        Rewrite::ComplexValue,
    ];

    /// A stable name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Rewrite::UnquotedFilterValue => "filter.unquoted_value",
            Rewrite::ValuePathSubAttribute => "filter.value_path_sub_attribute",
            Rewrite::StringBoolean => "filter.string_boolean",
            Rewrite::ComplexValue => "filter.complex_value",
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
