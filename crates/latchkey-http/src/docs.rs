//! The API reference page: Swagger UI compiled into the binary (utoipa-swagger-ui's `vendored` feature takes it
//! from a crates.io package at build time), so `/docs` works with no network at build or run time.
//!
//! The page is our own small HTML file that loads Swagger UI's assets from `/docs/…` and points it at
//! `/api/v1/openapi.json`. Its `Content-Security-Policy` allows nothing but this origin, so a browser would refuse
//! any asset from elsewhere even if a future Swagger UI asked for one.

use std::sync::{Arc, LazyLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use utoipa_swagger_ui::Config;

use crate::error::ApiError;

/// The assets' route, registered beside the page.
pub(crate) const ASSET_PATH: &str = "/docs/{file}";

/// Asset URLs are relative (`docs/…` from `/docs`), so the page also works behind a proxy that adds a path prefix.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Latchkey API reference</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="stylesheet" href="docs/index.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js" charset="utf-8"></script>
<script src="docs/swagger-ui-standalone-preset.js" charset="utf-8"></script>
<script src="docs/swagger-initializer.js" charset="utf-8"></script>
</body>
</html>
"#;

/// Only this origin; Swagger UI sets inline styles and uses `data:` images for its icons.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

/// Swagger UI's settings, written into its `swagger-initializer.js`.
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        // Relative to the page, like the assets.
        Config::new(["api/v1/openapi.json"])
            // The base layout has no top bar (whose logo links out and whose URL box loads other documents).
            .use_base_layout()
            // Swagger UI would otherwise send the document to an online validator for its badge.
            .validator_url("none")
            .display_request_duration(true),
    )
});

/// The API reference page.
#[utoipa::path(
    operation_id = "reference_page",
    tag = "service",
    responses(
        (status = OK, description = "The API reference page (Swagger UI), with every asset served by this server",
         body = String, content_type = "text/html"),
    ),
)]
#[get("/docs")]
pub(crate) async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .body(PAGE)
}

/// A Swagger UI asset (`swagger-ui.css`, `swagger-ui-bundle.js`, …); JSON 404 for any other name.
pub(crate) async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let served = utoipa_swagger_ui::serve(&file, CONFIG.clone()).map_err(|error| {
        tracing::error!(%error, "cannot render a Swagger UI asset");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
        )
    })?;
    let file = served.ok_or_else(|| ApiError::not_found("Not found"))?;
    let mut response = HttpResponse::Ok();
    response.content_type(file.content_type).insert_header((
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    ));
    if file.gzpipped {
        response.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    Ok(response.body(file.bytes.into_owned()))
}
