//! Black-box tests of the HTTP API through actix's test utilities, on the in-memory adapters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod account;
mod auth;
mod credentials;
mod credits;
mod email;
mod errors;
mod headers;
mod metrics;
mod oauth;
mod openapi;
mod overload;
mod profile;
mod sessions;
