//! Access tokens as JWTs: HS256 with a shared secret, or EdDSA (Ed25519) with public keys anyone can fetch.

mod ed25519;
mod verified;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use latchkey_domain::ports::{AccessClaims, AccessTokenCodec, DecodeError};
use latchkey_domain::{PortError, SessionId, UserId};
use serde::{Deserialize, Serialize};

pub use ed25519::Ed25519Keys;
use verified::VerifiedTokens;

/// Shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: a key at least as long as the hash output).
pub const MIN_SECRET_BYTES: usize = 32;

/// The `typ` claim of access tokens, so no other token this issuer signs can pass as one.
const ACCESS_TOKEN_TYPE: &str = "access";

/// What access tokens are signed with.
#[derive(Clone)]
#[non_exhaustive]
pub enum SigningKey {
    /// HS256 with a shared secret of at least [`MIN_SECRET_BYTES`] bytes: only holders of the secret can verify a
    /// token (other services ask `POST /oauth/introspect`).
    Hs256(Vec<u8>),
    /// EdDSA with Ed25519: anyone can verify a token with the public keys of [`JwtCodec::published_keys`].
    Ed25519(Ed25519Keys),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hs256(_) => f.write_str("Hs256(<redacted>)"),
            Self::Ed25519(keys) => f.debug_tuple("Ed25519").field(keys).finish(),
        }
    }
}

/// What the codec needs to know.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// The key tokens are signed with, which also decides the one algorithm accepted.
    pub key: SigningKey,
    /// `iss` set and required.
    pub issuer: String,
    /// `aud` set and required.
    pub audience: String,
}

/// Why the codec could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The secret is too short to be safe.
    #[error("JWT secret must be at least {MIN_SECRET_BYTES} bytes, got {0}")]
    SecretTooShort(usize),
    /// A signing or verification key could not be read; the message says what was expected, never the key.
    #[error("invalid JWT key: {0}")]
    InvalidKey(String),
    /// Signing and verifying a sample token failed.
    #[error("JWT self-test failed: {0}")]
    SelfTest(String),
}

/// The keys of one algorithm: what signs, and what verifies.
#[derive(Clone)]
enum Keys {
    /// One shared secret does both.
    Hmac {
        encoding: EncodingKey,
        decoding: DecodingKey,
    },
    /// A private key signs; the token's `kid` picks the public key that verifies it. Tokens already verified are
    /// remembered (shared by clones): a signature check costs 30–40 µs, where an HMAC costs about what the lookup
    /// would, which is why the other variant keeps no such memory.
    Ed25519 {
        encoding: EncodingKey,
        verifying: Vec<(String, DecodingKey)>,
        published: JwkSet,
        verified: Arc<VerifiedTokens>,
    },
}

/// Access tokens as JWTs, HS256 or EdDSA.
///
/// The algorithm is pinned to the configured key's: tokens whose header names `none`, another algorithm, or (with
/// EdDSA) a key id that is not one of ours are refused, as are tokens for another issuer, audience or type. Expiry
/// is left to the domain's clock (see [`AccessTokenCodec`]). With EdDSA, tokens already verified are remembered by
/// their SHA-256 (a bounded number, shared by clones), so a client reusing its token does not pay for the signature
/// again.
#[derive(Clone)]
pub struct JwtCodec {
    keys: Keys,
    header: Header,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCodec")
            .field("algorithm", &self.header.alg)
            .field("key_id", &self.header.kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    sid: String,
    jti: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    typ: String,
}

impl JwtCodec {
    /// Builds the codec and proves it by signing and verifying one token.
    ///
    /// # Errors
    /// [`JwtError::SecretTooShort`], [`JwtError::InvalidKey`] or [`JwtError::SelfTest`].
    pub fn new(config: JwtConfig) -> Result<Self, JwtError> {
        let (algorithm, key_id, keys) = match config.key {
            SigningKey::Hs256(secret) => {
                if secret.len() < MIN_SECRET_BYTES {
                    return Err(JwtError::SecretTooShort(secret.len()));
                }
                let keys = Keys::Hmac {
                    encoding: EncodingKey::from_secret(&secret),
                    decoding: DecodingKey::from_secret(&secret),
                };
                (Algorithm::HS256, None, keys)
            }
            SigningKey::Ed25519(ed25519) => {
                let keys = Keys::Ed25519 {
                    encoding: ed25519.encoding_key()?,
                    verifying: ed25519.verification_keys(),
                    published: ed25519.jwk_set(),
                    verified: Arc::default(),
                };
                (Algorithm::EdDSA, Some(ed25519.key_id()), keys)
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
        // The domain checks time against its own clock, so tests can move it.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let mut header = Header::new(algorithm);
        header.kid = key_id;
        let codec = Self {
            keys,
            header,
            validation,
            issuer: config.issuer,
            audience: config.audience,
        };
        codec.self_test()?;
        Ok(codec)
    }

    /// The public keys that verify this codec's tokens, as the JWK Set (RFC 7517 §5) to serve at
    /// `/.well-known/jwks.json`; `None` with HS256, whose secret is never published.
    pub fn published_keys(&self) -> Option<&JwkSet> {
        match &self.keys {
            Keys::Hmac { .. } => None,
            Keys::Ed25519 { published, .. } => Some(published),
        }
    }

    /// The tokens already verified, with EdDSA.
    fn verified_tokens(&self) -> Option<&VerifiedTokens> {
        match &self.keys {
            Keys::Hmac { .. } => None,
            Keys::Ed25519 { verified, .. } => Some(verified),
        }
    }

    fn encoding_key(&self) -> &EncodingKey {
        match &self.keys {
            Keys::Hmac { encoding, .. } | Keys::Ed25519 { encoding, .. } => encoding,
        }
    }

    /// The key that verifies `token`: the secret, or the public key its `kid` names.
    fn decoding_key(&self, token: &str) -> Result<&DecodingKey, DecodeError> {
        match &self.keys {
            Keys::Hmac { decoding, .. } => Ok(decoding),
            Keys::Ed25519 { verifying, .. } => {
                let header =
                    jsonwebtoken::decode_header(token).map_err(|_| DecodeError::Invalid)?;
                let kid = header.kid.ok_or(DecodeError::Invalid)?;
                verifying
                    .iter()
                    .find(|(id, _)| *id == kid)
                    .map(|(_, key)| key)
                    .ok_or(DecodeError::Invalid)
            }
        }
    }

    /// Every check: the signature with the pinned algorithm and key, issuer, audience, type, and the claims' form.
    fn verify(&self, token: &str) -> Result<AccessClaims, DecodeError> {
        let claims =
            jsonwebtoken::decode::<Claims>(token, self.decoding_key(token)?, &self.validation)
                .map_err(|_| DecodeError::Invalid)?
                .claims;
        if claims.typ != ACCESS_TOKEN_TYPE {
            return Err(DecodeError::Invalid);
        }
        Ok(AccessClaims {
            user_id: UserId::parse(&claims.sub).ok_or(DecodeError::Invalid)?,
            session_id: SessionId::parse(&claims.sid).ok_or(DecodeError::Invalid)?,
            token_id: claims.jti,
            issued_at: timestamp(claims.nbf.max(claims.iat))?,
            expires_at: timestamp(claims.exp)?,
        })
    }

    fn self_test(&self) -> Result<(), JwtError> {
        let now = Utc::now();
        let claims = AccessClaims {
            user_id: UserId::from_random("selftest"),
            session_id: SessionId::from_random("selftest"),
            token_id: "selftest".into(),
            issued_at: now,
            expires_at: now + chrono::TimeDelta::minutes(1),
        };
        let token = self
            .encode(&claims)
            .map_err(|error| JwtError::SelfTest(error.to_string()))?;
        let decoded = self
            .verify(&token)
            .map_err(|error| JwtError::SelfTest(error.to_string()))?;
        if decoded.user_id != claims.user_id || decoded.session_id != claims.session_id {
            return Err(JwtError::SelfTest("claims did not round-trip".into()));
        }
        Ok(())
    }
}

fn timestamp(seconds: i64) -> Result<DateTime<Utc>, DecodeError> {
    DateTime::from_timestamp(seconds, 0).ok_or(DecodeError::Invalid)
}

impl AccessTokenCodec for JwtCodec {
    fn encode(&self, claims: &AccessClaims) -> Result<String, PortError> {
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: claims.user_id.to_string(),
            sid: claims.session_id.to_string(),
            jti: claims.token_id.clone(),
            iat: claims.issued_at.timestamp(),
            nbf: claims.issued_at.timestamp(),
            exp: claims.expires_at.timestamp(),
            typ: ACCESS_TOKEN_TYPE.into(),
        };
        jsonwebtoken::encode(&self.header, &claims, self.encoding_key())
            .map_err(|error| PortError::new("sign access token", error))
    }

    fn decode(&self, token: &str) -> Result<AccessClaims, DecodeError> {
        let Some(verified) = self.verified_tokens() else {
            return self.verify(token);
        };
        if let Some(claims) = verified.get(token) {
            return Ok(claims);
        }
        let claims = self.verify(token)?;
        verified.insert(token, claims.clone());
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    use super::*;

    fn config() -> JwtConfig {
        JwtConfig {
            key: SigningKey::Hs256(b"0123456789abcdef0123456789abcdef".to_vec()),
            issuer: "latchkey".into(),
            audience: "latchkey-api".into(),
        }
    }

    fn claims() -> AccessClaims {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        AccessClaims {
            user_id: UserId::from_random("u1"),
            session_id: SessionId::from_random("s1"),
            token_id: "jti-1".into(),
            issued_at: now,
            expires_at: now + chrono::TimeDelta::minutes(15),
        }
    }

    fn payload(token: &str) -> serde_json::Value {
        let part = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn round_trips_and_carries_every_claim() {
        let codec = JwtCodec::new(config()).unwrap();
        let token = codec.encode(&claims()).unwrap();
        assert_eq!(codec.decode(&token).unwrap(), claims());
        let body = payload(&token);
        for claim in [
            "iss", "aud", "sub", "sid", "jti", "iat", "nbf", "exp", "typ",
        ] {
            assert!(body.get(claim).is_some(), "missing {claim}");
        }
        assert_eq!(body["typ"], "access");
        assert_eq!(body["sub"], "usr_u1");
    }

    #[test]
    fn expired_tokens_still_decode_so_the_domain_can_say_expired() {
        let codec = JwtCodec::new(config()).unwrap();
        let mut old = claims();
        old.issued_at = DateTime::from_timestamp(1_000, 0).unwrap();
        old.expires_at = DateTime::from_timestamp(2_000, 0).unwrap();
        assert_eq!(codec.decode(&codec.encode(&old).unwrap()).unwrap(), old);
    }

    #[test]
    fn refuses_short_secrets() {
        let short = JwtConfig {
            key: SigningKey::Hs256(vec![b'x'; 31]),
            ..config()
        };
        assert!(matches!(
            JwtCodec::new(short),
            Err(JwtError::SecretTooShort(31))
        ));
    }

    #[test]
    fn refuses_other_keys_issuers_audiences_and_algorithms() {
        let codec = JwtCodec::new(config()).unwrap();
        let token = codec.encode(&claims()).unwrap();

        let other_key = JwtCodec::new(JwtConfig {
            key: SigningKey::Hs256(b"ffffffffffffffffffffffffffffffff".to_vec()),
            ..config()
        })
        .unwrap();
        assert_eq!(other_key.decode(&token), Err(DecodeError::Invalid));
        let other_issuer = JwtCodec::new(JwtConfig {
            issuer: "someone-else".into(),
            ..config()
        })
        .unwrap();
        assert_eq!(other_issuer.decode(&token), Err(DecodeError::Invalid));
        let other_audience = JwtCodec::new(JwtConfig {
            audience: "other-api".into(),
            ..config()
        })
        .unwrap();
        assert_eq!(other_audience.decode(&token), Err(DecodeError::Invalid));

        // alg=none with the same claims and an empty signature.
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = token.split('.').nth(1).unwrap();
        assert_eq!(
            codec.decode(&format!("{none_header}.{body}.")),
            Err(DecodeError::Invalid)
        );

        // HS512 signed with the right secret is still refused: the algorithm is pinned.
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &payload(&token),
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert_eq!(codec.decode(&hs512), Err(DecodeError::Invalid));

        assert_eq!(codec.decode("garbage"), Err(DecodeError::Invalid));
        assert_eq!(codec.decode(""), Err(DecodeError::Invalid));
    }

    #[test]
    fn refuses_tokens_of_another_type() {
        let codec = JwtCodec::new(config()).unwrap();
        let mut body = payload(&codec.encode(&claims()).unwrap());
        body["typ"] = "refresh".into();
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &body,
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert_eq!(codec.decode(&forged), Err(DecodeError::Invalid));
    }
    /// `openssl genpkey -algorithm ed25519`, twice: a signing key and the one it replaced.
    const ED25519_KEY: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIEDlAHh1iVksaPudJymSGCaosj+gF7IFDQf0kVkw9P0f\n\
        -----END PRIVATE KEY-----\n";
    const ED25519_OLD_KEY: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIOWnLjTbkiNTadsr3QwODQYe1185zGoPUUTPd5k+eqaU\n\
        -----END PRIVATE KEY-----\n";
    const ED25519_OLD_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\n\
        MCowBQYDK2VwAyEAlvKK4dQBSE50wVBpk1iVCj+79r0h21K1uX34YQ5k2Zo=\n\
        -----END PUBLIC KEY-----\n";

    fn ed25519(private: &str) -> JwtCodec {
        JwtCodec::new(JwtConfig {
            key: SigningKey::Ed25519(Ed25519Keys::from_pkcs8_pem(private).unwrap()),
            ..config()
        })
        .unwrap()
    }

    fn header(token: &str) -> serde_json::Value {
        let part = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn eddsa_tokens_name_their_key_and_round_trip() {
        let codec = ed25519(ED25519_KEY);
        let token = codec.encode(&claims()).unwrap();
        assert_eq!(codec.decode(&token).unwrap(), claims());
        let keys = Ed25519Keys::from_pkcs8_pem(ED25519_KEY).unwrap();
        assert_eq!(
            header(&token),
            serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": keys.key_id()})
        );
        assert_eq!(payload(&token)["typ"], "access");
    }

    #[test]
    fn anyone_verifies_an_eddsa_token_with_the_published_keys_alone() {
        let codec = ed25519(ED25519_KEY);
        let token = codec.encode(&claims()).unwrap();
        // What another service does: fetch the JWK Set, pick the key the token's kid names, verify.
        let published: JwkSet =
            serde_json::from_value(serde_json::to_value(codec.published_keys().unwrap()).unwrap())
                .unwrap();
        let kid = header(&token)["kid"].as_str().unwrap().to_owned();
        let key = DecodingKey::from_jwk(published.find(&kid).unwrap()).unwrap();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&["latchkey-api"]);
        validation.validate_exp = false;
        let verified =
            jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).unwrap();
        assert_eq!(verified.claims["sub"], "usr_u1");
    }

    #[test]
    fn hs256_publishes_no_keys() {
        assert!(JwtCodec::new(config()).unwrap().published_keys().is_none());
    }

    #[test]
    fn a_retired_key_verifies_until_it_is_dropped_and_is_published_meanwhile() {
        let old_token = ed25519(ED25519_OLD_KEY).encode(&claims()).unwrap();
        let rotated = JwtCodec::new(JwtConfig {
            key: SigningKey::Ed25519(
                Ed25519Keys::from_pkcs8_pem(ED25519_KEY)
                    .unwrap()
                    .with_verifying_key_pem(ED25519_OLD_PUBLIC)
                    .unwrap(),
            ),
            ..config()
        })
        .unwrap();
        assert_eq!(rotated.decode(&old_token).unwrap(), claims());
        assert_eq!(rotated.published_keys().unwrap().keys.len(), 2);
        // New tokens are signed with the new key.
        let new_token = rotated.encode(&claims()).unwrap();
        assert_eq!(ed25519(ED25519_KEY).decode(&new_token).unwrap(), claims());
        // Once the retired key is dropped from the configuration, its tokens are refused.
        assert_eq!(
            ed25519(ED25519_KEY).decode(&old_token),
            Err(DecodeError::Invalid)
        );
    }

    #[test]
    fn eddsa_refuses_other_algorithms_missing_or_unknown_key_ids_and_forged_signatures() {
        let codec = ed25519(ED25519_KEY);
        let token = codec.encode(&claims()).unwrap();
        let kid = header(&token)["kid"].as_str().unwrap().to_owned();

        // HS256 keyed with the published public key (the classic algorithm confusion), under the right kid.
        let x = serde_json::to_value(codec.published_keys().unwrap()).unwrap()["keys"][0]["x"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut hs256 = Header::new(Algorithm::HS256);
        hs256.kid = Some(kid.clone());
        let confused = jsonwebtoken::encode(
            &hs256,
            &payload(&token),
            &EncodingKey::from_secret(x.as_bytes()),
        )
        .unwrap();
        assert_eq!(codec.decode(&confused), Err(DecodeError::Invalid));

        // Signed by another key: under our kid, under its own, and under none.
        let other = Ed25519Keys::from_pkcs8_pem(ED25519_OLD_KEY).unwrap();
        for kid in [Some(kid.clone()), Some(other.key_id()), None] {
            let mut eddsa = Header::new(Algorithm::EdDSA);
            eddsa.kid = kid;
            let forged =
                jsonwebtoken::encode(&eddsa, &payload(&token), &other.encoding_key().unwrap())
                    .unwrap();
            assert_eq!(codec.decode(&forged), Err(DecodeError::Invalid));
        }

        // Our own token with its kid removed.
        let body_and_signature = token.split_once('.').unwrap().1;
        let no_kid = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        assert_eq!(
            codec.decode(&format!("{no_kid}.{body_and_signature}")),
            Err(DecodeError::Invalid)
        );

        // An HS256 codec refuses EdDSA tokens.
        assert_eq!(
            JwtCodec::new(config()).unwrap().decode(&token),
            Err(DecodeError::Invalid)
        );
    }
    #[test]
    fn a_verified_token_is_remembered_and_any_other_bytes_are_checked_afresh() {
        assert!(JwtCodec::new(config()).unwrap().verified_tokens().is_none());
        let codec = ed25519(ED25519_KEY);
        let kept = |codec: &JwtCodec| codec.verified_tokens().unwrap().len();
        assert_eq!(kept(&codec), 0, "the self-test's token is not kept");
        let token = codec.encode(&claims()).unwrap();
        let clone = codec.clone();
        assert_eq!(codec.decode(&token).unwrap(), claims());
        assert_eq!(kept(&codec), 1);
        // Shared by clones, and answered from memory.
        assert_eq!(clone.decode(&token).unwrap(), claims());
        assert_eq!(kept(&clone), 1);

        // The same token with one byte of its payload changed: its signature no longer matches.
        let (header_part, rest) = token.split_once('.').unwrap();
        let (body, signature) = rest.split_once('.').unwrap();
        let mut tampered_body = body.as_bytes().to_vec();
        tampered_body[10] = if tampered_body[10] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let tampered = format!(
            "{header_part}.{}.{signature}",
            String::from_utf8(tampered_body).unwrap()
        );
        assert_eq!(codec.decode(&tampered), Err(DecodeError::Invalid));
        // Refusals are not kept.
        assert_eq!(kept(&codec), 1);
    }

    #[test]
    fn the_verified_tokens_stay_within_their_bound() {
        let tokens = verified::VerifiedTokens::default();
        for n in 0..=verified::CAPACITY {
            tokens.insert(&format!("token-{n}"), claims());
        }
        assert!(tokens.len() <= verified::CAPACITY);
        assert_eq!(
            tokens.get(&format!("token-{}", verified::CAPACITY)),
            Some(claims())
        );
    }
}
