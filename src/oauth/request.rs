//! A token request as sent (RFC 6749 §4.4, §2.3; RFC 7523 §2.1, §2.2), read into what is asked
//! (the grant and scope) and how the client authenticates, and the errors of RFC 6749 §5.2. Pure:
//! nothing here looks anything up.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::TokenScope;

/// `grant_type` of the client credentials grant.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";
/// `grant_type` of the JWT-bearer authorization grant (RFC 7523 §2.1).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// `client_assertion_type` of a signed client assertion (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest value of any parameter (an assertion is at most 8 KiB).
const MAX_PARAM_BYTES: usize = 8 * 1024;

/// An error code of RFC 6749 §5.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is malformed (a parameter missing, repeated, or two ways to authenticate).
    InvalidRequest,
    /// Client authentication failed (401).
    InvalidClient,
    /// The authorization grant (the JWT-bearer assertion) is not valid.
    InvalidGrant,
    /// This client may not use this grant.
    UnauthorizedClient,
    /// The grant type is not one this server supports.
    UnsupportedGrantType,
    /// The scope asked is not one this server grants.
    InvalidScope,
}

impl ErrorCode {
    /// The `error` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
        }
    }
}

/// A refused token request: its code and a description a person can act on (never which part of
/// a failed client authentication was wrong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The `error` code.
    pub code: ErrorCode,
    /// The `error_description`.
    pub description: String,
}

impl OAuthError {
    /// An error of `code`.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }
}

/// What is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `client_credentials`: the authenticated client itself.
    ClientCredentials,
    /// The JWT-bearer grant: the assertion is the grant (RFC 7523 §2.1).
    JwtBearer {
        /// The `assertion`.
        assertion: String,
    },
}

/// How the client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the client id and secret.
    SecretBasic {
        /// The client id.
        client_id: String,
        /// The secret.
        secret: String,
    },
    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    SecretPost {
        /// The client id.
        client_id: String,
        /// The secret.
        secret: String,
    },
    /// `private_key_jwt`: a signed assertion (RFC 7523 §2.2).
    Assertion {
        /// `client_id`, when sent (it must then name the assertion's issuer).
        client_id: Option<String>,
        /// The `client_assertion`.
        assertion: String,
    },
    /// None (the JWT-bearer grant authenticates by its assertion).
    None,
}

impl ClientAuth {
    /// Whether the client used HTTP Basic (a 401 then carries `WWW-Authenticate: Basic`).
    pub fn is_basic(&self) -> bool {
        matches!(self, ClientAuth::SecretBasic { .. })
    }

    /// The client id the request names, if any.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            ClientAuth::SecretBasic { client_id, .. }
            | ClientAuth::SecretPost { client_id, .. } => Some(client_id),
            ClientAuth::Assertion { client_id, .. } => client_id.as_deref(),
            ClientAuth::None => None,
        }
    }
}

/// A token request, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// What is asked for.
    pub grant: Grant,
    /// How the client authenticates.
    pub auth: ClientAuth,
    /// The scope asked (`scim` when none is).
    pub scope: TokenScope,
}

/// Reads a form-encoded token request and its `Authorization` header. A parameter sent twice, a
/// missing one, or two ways of authenticating is `invalid_request`; an unknown grant type
/// `unsupported_grant_type`; a scope other than `scim` and `scim.read` `invalid_scope`. Unknown
/// parameters are ignored (RFC 6749 §3.2).
pub fn parse(body: &[u8], authorization: Option<&str>) -> Result<TokenRequest, OAuthError> {
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if value.len() > MAX_PARAM_BYTES {
            return Err(OAuthError::invalid_request(format!(
                "the parameter {} is longer than 8 KiB",
                printable(&name)
            )));
        }
        if params.iter().any(|(n, _)| *n == name) {
            return Err(OAuthError::invalid_request(format!(
                "the parameter {} is sent more than once",
                printable(&name)
            )));
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let grant = match get("grant_type").as_deref() {
        None => {
            return Err(OAuthError::invalid_request(
                "grant_type is missing: send grant_type=client_credentials",
            ));
        }
        Some(CLIENT_CREDENTIALS) => Grant::ClientCredentials,
        Some(JWT_BEARER_GRANT) => Grant::JwtBearer {
            assertion: get("assertion").ok_or_else(|| {
                OAuthError::invalid_request("the JWT-bearer grant needs its assertion parameter")
            })?,
        },
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "the grant types supported are {CLIENT_CREDENTIALS} and {JWT_BEARER_GRANT}"
                ),
            ));
        }
    };
    let scope = scope(get("scope").as_deref())?;
    let basic = authorization
        .map(|value| {
            basic_credentials(value).ok_or_else(|| {
                OAuthError::new(
                    ErrorCode::InvalidClient,
                    "the Authorization header is not HTTP Basic with a client id and secret",
                )
            })
        })
        .transpose()?;
    let secret = get("client_secret");
    let assertion = get("client_assertion");
    let ways = usize::from(basic.is_some())
        + usize::from(secret.is_some())
        + usize::from(assertion.is_some());
    if ways > 1 {
        return Err(OAuthError::invalid_request(
            "use one way of client authentication: HTTP Basic, client_secret, or client_assertion",
        ));
    }
    let client_id = get("client_id");
    let auth = if let Some((id, secret)) = basic {
        if client_id.as_ref().is_some_and(|c| *c != id) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the client id of the Authorization header",
            ));
        }
        ClientAuth::SecretBasic {
            client_id: id,
            secret,
        }
    } else if let Some(secret) = secret {
        ClientAuth::SecretPost {
            client_id: client_id.ok_or_else(|| {
                OAuthError::invalid_request("client_secret is sent without client_id")
            })?,
            secret,
        }
    } else if let Some(assertion) = assertion {
        if get("client_assertion_type").as_deref() != Some(JWT_BEARER_ASSERTION) {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {JWT_BEARER_ASSERTION}"
            )));
        }
        ClientAuth::Assertion {
            client_id,
            assertion,
        }
    } else {
        ClientAuth::None
    };
    if grant == Grant::ClientCredentials && auth == ClientAuth::None {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "authenticate the client: HTTP Basic, client_secret_post or a signed client_assertion",
        ));
    }
    if matches!(grant, Grant::JwtBearer { .. }) && auth != ClientAuth::None {
        return Err(OAuthError::invalid_request(
            "the JWT-bearer grant authenticates by its assertion: send no other client credentials",
        ));
    }
    Ok(TokenRequest { grant, auth, scope })
}

/// The scope granted for the `scope` asked: `scim` without one; `scim.read` when only it is asked.
fn scope(asked: Option<&str>) -> Result<TokenScope, OAuthError> {
    let Some(asked) = asked else {
        return Ok(TokenScope::Scim);
    };
    let mut granted = None;
    for item in asked.split(' ').filter(|s| !s.is_empty()) {
        match TokenScope::from_name(item) {
            Some(TokenScope::Scim) => granted = Some(TokenScope::Scim),
            Some(TokenScope::ScimRead) => {
                granted.get_or_insert(TokenScope::ScimRead);
            }
            None => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!(
                        "the scope {} is not granted here: ask for scim (read and write) or scim.read",
                        printable(item)
                    ),
                ));
            }
        }
    }
    Ok(granted.unwrap_or(TokenScope::Scim))
}

/// The client id and secret of an HTTP Basic header, each form-decoded (RFC 6749 §2.3.1).
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > MAX_PARAM_BYTES {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = (unescape(id), unescape(secret));
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

/// A parameter name or value as it may appear in a description: short, printable.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(40)
        .collect::<String>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn secret_basic_post_and_assertions_are_told_apart() {
        let r = parse(
            b"grant_type=client_credentials",
            Some(&basic("c1", "s%2B1")),
        )
        .unwrap();
        assert_eq!(
            r.auth,
            ClientAuth::SecretBasic {
                client_id: "c1".into(),
                secret: "s+1".into()
            }
        );
        assert_eq!(r.scope, TokenScope::Scim);
        let r = parse(
            b"grant_type=client_credentials&client_id=c1&client_secret=x&scope=scim.read",
            None,
        )
        .unwrap();
        assert!(matches!(r.auth, ClientAuth::SecretPost { .. }));
        assert_eq!(r.scope, TokenScope::ScimRead);
        let r = parse(
            format!("grant_type=client_credentials&client_assertion_type={JWT_BEARER_ASSERTION}&client_assertion=a.b.c&scope=scim.read%20scim").as_bytes(),
            None,
        )
        .unwrap();
        assert!(matches!(r.auth, ClientAuth::Assertion { .. }));
        assert_eq!(r.scope, TokenScope::Scim);
    }

    #[test]
    fn each_malformed_request_has_its_code() {
        let code = |body: &str, auth: Option<&str>| parse(body.as_bytes(), auth).unwrap_err().code;
        assert_eq!(code("", None), ErrorCode::InvalidRequest);
        assert_eq!(
            code("grant_type=password", None),
            ErrorCode::UnsupportedGrantType
        );
        assert_eq!(
            code(
                "grant_type=client_credentials&grant_type=client_credentials",
                None
            ),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code("grant_type=client_credentials&scope=admin", None),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            code("grant_type=client_credentials", None),
            ErrorCode::InvalidClient
        );
        assert_eq!(
            code(
                "grant_type=client_credentials&client_id=c&client_secret=s",
                Some(&basic("c", "s"))
            ),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(
                "grant_type=client_credentials&client_assertion=a.b.c&client_assertion_type=x",
                None
            ),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(&format!("grant_type={JWT_BEARER_GRANT}"), None),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code("grant_type=client_credentials", Some("Bearer x")),
            ErrorCode::InvalidClient
        );
    }
}
