//! Use-case tests of the Latchkey service, run on the in-memory adapters with a manual clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod access;
mod account;
mod builder;
mod credentials;
mod credits;
mod email;
mod events;
mod lifecycle;
mod login;
mod oauth;
mod profile;
mod public_api;
mod refresh;
mod register;
mod sessions;
mod throttle;
