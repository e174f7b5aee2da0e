//! One log line per request, without secrets.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;

/// Middleware function logging method, path, status and latency of every request at `info`; install it with
/// `App::new().wrap(actix_web::middleware::from_fn(latchkey_http::log_request))`.
///
/// The query string is left out on purpose (links carry single-use tokens there), and headers and bodies are never
/// logged.
///
/// # Errors
/// Passes on the error of the wrapped service.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let result = next.call(req).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match &result {
        Ok(response) => tracing::info!(
            %method,
            %path,
            status = response.status().as_u16(),
            elapsed_ms = format_args!("{elapsed_ms:.2}"),
            "request"
        ),
        Err(error) => tracing::warn!(
            %method,
            %path,
            status = error.as_response_error().status_code().as_u16(),
            elapsed_ms = format_args!("{elapsed_ms:.2}"),
            "request failed"
        ),
    }
    result
}
