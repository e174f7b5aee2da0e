//! Prometheus metrics of the HTTP service: what a deployer watches (requests by route and status, their latency),
//! served at `GET /metrics` in the OpenMetrics text format.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The `Content-Type` of the exposition, as Prometheus asks for it.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request no route took: its path is left out, since any client can invent paths without end
/// and each would be a time series of its own.
const UNMATCHED: &str = "unmatched";

/// A request, as counted.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

/// A route, as timed.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// The service's metrics, shared by every HTTP worker: create one, give it to [`crate::HttpConfig::metrics`], and
/// wrap the app in [`record_request`].
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Empty metrics, registered under `latchkey_http_*`.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "latchkey_http_requests",
            "HTTP requests answered, by method, route pattern and status",
            requests.clone(),
        );
        // 0.5 ms to about 16 s: a cached `/auth/me` at the bottom, a login queued behind a flood of hashes at the top.
        let durations =
            Family::<RouteLabels, Histogram>::new_with_constructor(duration_histogram as fn() -> _);
        registry.register(
            "latchkey_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route pattern",
            durations.clone(),
        );
        Self {
            registry,
            requests,
            durations,
        }
    }

    /// Counts and times one answered request.
    fn observe(&self, method: &'static str, route: String, status: u16, took: Duration) {
        self.durations
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    /// The exposition, in the OpenMetrics text format.
    pub(crate) fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// A method as a label: the standard ones by name, any other as `other` (a client may send any token there).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware function counting and timing every request by method, route pattern (`/api/v1/auth/keys/{id}`, never
/// the path itself) and status, into the [`Metrics`] the app was configured with; it does nothing without them.
/// Install it with `App::new().wrap(actix_web::middleware::from_fn(latchkey_http::record_request))`.
///
/// # Errors
/// Passes on the error of the wrapped service.
pub async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let Some(metrics) = req.app_data::<web::Data<Metrics>>().cloned() else {
        return next.call(req).await;
    };
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req.match_pattern().unwrap_or_else(|| UNMATCHED.to_owned());
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    metrics.observe(method, route, status.as_u16(), started.elapsed());
    result
}
