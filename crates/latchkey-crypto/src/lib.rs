//! Cryptographic adapters for Latchkey's ports.
//!
//! - [`Argon2Hasher`]: argon2id password hashing on threads of its own, one per core, each reusing its memory.
//! - [`JwtCodec`]: HS256 access tokens with pinned algorithm, issuer, audience and type.
//! - [`OsSecrets`]: identifiers and opaque secrets from the operating system's CSPRNG, and keyed derivation of a
//!   rotated refresh token's successor.

#![warn(missing_docs)]

mod arena;
mod hash_pool;
mod hasher;
mod jwt;
mod secrets;

pub use hasher::{Argon2Hasher, Argon2Params, HasherError};
pub use jwt::{JwtCodec, JwtConfig, JwtError, MIN_SECRET_BYTES};
pub use secrets::{random_key, OsSecrets};
