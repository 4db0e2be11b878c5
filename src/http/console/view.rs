//! The console's templates and stylesheet, embedded in the binary, and the page renderer. Templates
//! are minijinja, HTML auto-escaped; texts come from [`super::texts`] through `t(key, ...)`. The
//! stylesheet is served under a name holding its digest, so it can be cached for a year.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use minijinja::{Environment, Error, ErrorKind, Value, context};

use super::texts;

/// The stylesheet.
pub const CSS: &str = include_str!("../../../templates/console/static/console.css");

/// The stylesheet's file name, with the first 12 hex digits of its SHA-256.
pub static CSS_NAME: LazyLock<String> =
    LazyLock::new(|| format!("console-{}.css", &crate::crypto::sha256_hex(CSS)[..12]));

const TEMPLATES: &[(&str, &str)] = &[
    (
        "layout.html",
        include_str!("../../../templates/console/layout.html"),
    ),
    (
        "sign_in.html",
        include_str!("../../../templates/console/sign_in.html"),
    ),
    (
        "error.html",
        include_str!("../../../templates/console/error.html"),
    ),
    (
        "home.html",
        include_str!("../../../templates/console/home.html"),
    ),
    (
        "invitations.html",
        include_str!("../../../templates/console/invitations.html"),
    ),
    (
        "withdraw.html",
        include_str!("../../../templates/console/withdraw.html"),
    ),
    (
        "invite.html",
        include_str!("../../../templates/console/invite.html"),
    ),
    (
        "pager.html",
        include_str!("../../../templates/console/pager.html"),
    ),
    (
        "users.html",
        include_str!("../../../templates/console/users.html"),
    ),
    (
        "user.html",
        include_str!("../../../templates/console/user.html"),
    ),
    (
        "stores.html",
        include_str!("../../../templates/console/stores.html"),
    ),
    (
        "groups.html",
        include_str!("../../../templates/console/groups.html"),
    ),
    (
        "log.html",
        include_str!("../../../templates/console/log.html"),
    ),
    (
        "tokens.html",
        include_str!("../../../templates/console/tokens.html"),
    ),
    (
        "token_issued.html",
        include_str!("../../../templates/console/token_issued.html"),
    ),
];

/// `t("key", name=value, …)`: the catalog's text of `key` with its placeholders filled.
fn translate(key: &str, kwargs: minijinja::value::Kwargs) -> Result<String, Error> {
    let mut args = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        args.push((name, value.to_string()));
    }
    texts::format(key, &args).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("no console text {key:?}"),
        )
    })
}

/// The templates, parsed once. They are constants of the binary, like the code.
static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for &(name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("the embedded template {name} parses: {e}"));
    }
    env.add_function("t", translate);
    // A constant of the binary, not user data: shown as is.
    env.add_global(
        "css",
        Value::from_safe_string(format!("/console/static/{}", *CSS_NAME)),
    );
    env
});

/// Renders `template` with `ctx`; the error names the template, for the log.
pub fn render(template: &str, ctx: Value) -> Result<String, String> {
    ENV.get_template(template)
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("the console template {template} failed: {e:#}"))
}

/// An HTML page with `status`, or a logged 500 when the template fails.
pub fn page(status: actix_web::http::StatusCode, template: &str, ctx: Value) -> HttpResponse {
    match render(template, ctx) {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "a console page failed to render");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("The page could not be shown.")
        }
    }
}

/// The error page: a catalog text by key, no session needed.
pub fn error_page(status: actix_web::http::StatusCode, message_key: &str) -> HttpResponse {
    page(
        status,
        "error.html",
        context! { message_key => message_key, status => status.as_u16() },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_the_stylesheet_name_holds_its_digest() {
        assert_eq!(ENV.templates().count(), TEMPLATES.len());
        assert!(CSS_NAME.starts_with("console-") && CSS_NAME.len() == "console-.css".len() + 12);
        let html = render(
            "error.html",
            context! { message_key => "error.not_found", status => 404 },
        )
        .unwrap();
        assert!(html.contains(texts::text("error.not_found").unwrap()));
    }
}
