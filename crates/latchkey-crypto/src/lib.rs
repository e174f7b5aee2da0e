//! Cryptographic adapters for Latchkey's ports.
//!
//! - [`Argon2Hasher`]: argon2id password hashing on threads of its own, one per core, each reusing its memory.
//! - [`JwtCodec`]: HS256 or EdDSA access tokens with pinned algorithm, issuer, audience and type; with EdDSA, the
//!   JWK Set that lets other services verify them.
//! - [`OsSecrets`]: identifiers and opaque secrets from the operating system's CSPRNG, and keyed derivation of a
//!   rotated refresh token's successor.

#![warn(missing_docs)]

mod arena;
mod hash_pool;
mod hasher;
mod jwt;
mod secrets;

pub use hasher::{Argon2Hasher, Argon2Params, HasherError};
pub use jwt::{Ed25519Keys, JwtCodec, JwtConfig, JwtError, SigningKey, MIN_SECRET_BYTES};
pub use secrets::{random_key, OsSecrets};
