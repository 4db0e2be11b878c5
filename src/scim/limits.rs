//! The bounds on every list a request may carry. Each is checked before the list is worked on, so
//! the work a request can cause grows with the limit, never with what a client sends. All are
//! configurable (`serve --help`, `.env.sample`); the defaults suit Entra ID and Okta.

/// How many entries each list of a request may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Paths in `attributes`, and apart from them in `excludedAttributes` (query or SearchRequest).
    pub projection_paths: usize,
    /// `Operations` of one PATCH request.
    pub patch_operations: usize,
    /// Elements of one multi-valued user or group attribute (`emails`, `phoneNumbers`, `roles`,
    /// stores, …) in one request or PATCH operation.
    pub multi_values: usize,
    /// Member references in one group body or one PATCH operation's value: generous, because an
    /// identity provider pushes a large group in one request.
    pub members: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            projection_paths: 100,
            patch_operations: 1000,
            multi_values: 100,
            members: 100_000,
        }
    }
}
