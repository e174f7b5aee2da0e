//! Pacing of refusals that ask the client to wait: a 503 `overloaded` or a 429 is answered after a short pause
//! instead of at once.
//!
//! Under a login flood most requests are refused: the hashing queue is full (503) or a rate limit is spent (429).
//! A refusal costs little, but a flooding client retries the moment it is answered, so an instant refusal turns
//! each of its connections into a tight loop: measured here, 256 connections made 15 000 to 27 000 refusals a second, and
//! answering them took half of a two-core server's CPU away from the hashing that serves real logins (which fell
//! to half of their ceiling). Answering each refusal after a pause bounds what one connection can cost: at most one
//! refusal per pause. The pause is the wait the answer asks for (`Retry-After`), at most [`MAX_PAUSE`], and the
//! answer's `Retry-After` then says what is left of the wait (at least one second): a client that honours it waits
//! at most a second longer than it would have, and only when the wait asked was a second.
//!
//! A paused refusal holds no hashing slot, no database connection and no counted attempt, only its connection and
//! a timer. At most [`MAX_PAUSED`] are paused at once; beyond that a refusal is answered at once, so the pause
//! cannot become a queue of its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::Error;

/// The longest a refusal is held back.
pub const MAX_PAUSE: Duration = Duration::from_secs(1);

/// The most refusals held back at once, over the whole process.
pub const MAX_PAUSED: usize = 4096;

/// The refusals being held back now, over the whole process.
static PAUSED: Places = Places::new(MAX_PAUSED);

/// Middleware function holding back each 503 or 429 that carries `Retry-After` for that long (at most
/// [`MAX_PAUSE`]) before it is sent; install it with
/// `App::new().wrap(actix_web::middleware::from_fn(latchkey_http::pace_refusals))`. See the module documentation
/// for why.
///
/// # Errors
/// Passes on the error of the wrapped service.
pub async fn pace_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let mut response = next.call(req).await?;
    if let Some((pause, retry_after)) = pause_for(&response) {
        if let Some(_place) = PAUSED.take() {
            actix_web::rt::time::sleep(pause).await;
            // `Retry-After` counts from the answer's arrival: what is left of the wait, and never 0, which would
            // invite an instant retry.
            let left = retry_after.saturating_sub(pause.as_secs()).max(1);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(left));
        }
    }
    Ok(response)
}

/// How long to hold `response` back (its `Retry-After` up to [`MAX_PAUSE`]) and the `Retry-After` it carries, in
/// seconds; for a 503 or 429 only.
fn pause_for<B>(response: &ServiceResponse<B>) -> Option<(Duration, u64)> {
    let status = response.status();
    if status != StatusCode::SERVICE_UNAVAILABLE && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let seconds: u64 = response
        .headers()
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    Some((Duration::from_secs(seconds).min(MAX_PAUSE), seconds))
}

/// A count of places, at most `max` taken at once.
struct Places {
    taken: AtomicUsize,
    max: usize,
}

impl Places {
    const fn new(max: usize) -> Self {
        Self {
            taken: AtomicUsize::new(0),
            max,
        }
    }

    /// A place, if one is free; it is given back when dropped (also when the client goes away mid-pause).
    fn take(&self) -> Option<Place<'_>> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < self.max).then_some(taken + 1)
            })
            .ok()
            .map(|_| Place(self))
    }
}

struct Place<'a>(&'a Places);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::test::{call_service, init_service, TestRequest};
    use actix_web::{web, App, HttpResponse};

    fn refusal(status: StatusCode, retry_after: &'static str) -> HttpResponse {
        HttpResponse::build(status)
            .insert_header((header::RETRY_AFTER, retry_after))
            .finish()
    }

    /// The pause each route's answer gets, measured on a paused clock (time only moves when every task waits), and
    /// the answer's `Retry-After`.
    async fn paused_for(route: fn() -> HttpResponse) -> (Duration, Option<String>) {
        let app = init_service(
            App::new()
                .wrap(from_fn(pace_refusals))
                .route("/", web::get().to(move || async move { route() })),
        )
        .await;
        tokio::time::pause();
        let started = tokio::time::Instant::now();
        let response = call_service(&app, TestRequest::get().uri("/").to_request()).await;
        let paused = started.elapsed();
        tokio::time::resume();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap().to_owned());
        (paused, retry_after)
    }

    /// Whether `paused` is `expected`, give or take the timer's millisecond.
    fn about(paused: Duration, expected: Duration) -> bool {
        paused >= expected && paused <= expected + Duration::from_millis(2)
    }

    #[actix_web::test]
    async fn a_refusal_asking_to_wait_is_held_back_that_long_at_most_a_second() {
        let (paused, retry_after) =
            paused_for(|| refusal(StatusCode::SERVICE_UNAVAILABLE, "1")).await;
        assert!(about(paused, Duration::from_secs(1)), "{paused:?}");
        // Never 0, even when the pause took the whole wait.
        assert_eq!(retry_after.as_deref(), Some("1"));
        let (paused, retry_after) =
            paused_for(|| refusal(StatusCode::TOO_MANY_REQUESTS, "900")).await;
        assert!(about(paused, MAX_PAUSE), "{paused:?}");
        // What is left of the wait once the answer arrives.
        assert_eq!(retry_after.as_deref(), Some("899"));
    }

    #[actix_web::test]
    async fn other_answers_are_sent_at_once() {
        for route in [
            (|| HttpResponse::Ok().finish()) as fn() -> HttpResponse,
            || refusal(StatusCode::OK, "5"),
            || HttpResponse::ServiceUnavailable().finish(),
            || refusal(StatusCode::SERVICE_UNAVAILABLE, "soon"),
        ] {
            assert_eq!(paused_for(route).await.0, Duration::ZERO);
        }
    }

    #[test]
    fn at_most_max_refusals_are_held_back_at_once_and_places_come_back() {
        let places = Places::new(3);
        let held: Vec<_> = std::iter::from_fn(|| places.take()).take(4).collect();
        assert_eq!(held.len(), 3);
        assert!(places.take().is_none());
        drop(held);
        assert!(places.take().is_some());
    }
}
