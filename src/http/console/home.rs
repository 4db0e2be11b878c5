//! The landing page: a link to each page of the console, with what it is for.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use minijinja::context;

use super::{Signed, view};

/// `GET /console`.
pub async fn show(signed: Signed) -> HttpResponse {
    view::page(
        StatusCode::OK,
        "home.html",
        context! { session => signed.layout(), nav => "home" },
    )
}
