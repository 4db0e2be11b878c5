//! Resource versions on the wire (RFC 7644 §3.14): the weak entity tag of a version and the
//! client's `If-Match` condition, compared weakly as SCIM clients send weak tags.

/// The weak entity tag of a resource version (DESIGN 4).
pub fn etag(version: i64) -> String {
    weak(&version.to_string())
}

/// The weak entity tag of an opaque tag (a user's covers more than its own version, DESIGN 5).
pub fn weak(opaque: &str) -> String {
    format!("W/\"{opaque}\"")
}

/// The opaque part of an entity tag (`W/"3"` → `3`), for weak comparison.
pub fn opaque_tag(tag: &str) -> String {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"').to_owned()
}

/// A client's `If-Match` condition (RFC 7232 §3.1, weak comparison as SCIM clients send weak tags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// No condition.
    None,
    /// `If-Match: *`: the resource must exist.
    Any,
    /// `If-Match: W/"3", "4"`: the resource must be at one of these versions.
    Versions(Vec<String>),
}

impl Precondition {
    /// Reads an `If-Match` header value.
    pub fn if_match(header: Option<&str>) -> Self {
        match header.map(str::trim) {
            None | Some("") => Precondition::None,
            Some("*") => Precondition::Any,
            Some(list) => Precondition::Versions(list.split(',').map(opaque_tag).collect()),
        }
    }

    /// Whether a resource at `version` satisfies the condition.
    pub fn holds(&self, version: i64) -> bool {
        self.holds_tag(&version.to_string())
    }

    /// Whether a resource whose opaque tag is `tag` satisfies the condition.
    pub fn holds_tag(&self, tag: &str) -> bool {
        match self {
            Precondition::None | Precondition::Any => true,
            Precondition::Versions(tags) => tags.iter().any(|t| t == tag),
        }
    }
}
