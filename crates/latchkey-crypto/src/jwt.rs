use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use latchkey_domain::ports::{AccessClaims, AccessTokenCodec, DecodeError};
use latchkey_domain::{PortError, SessionId, UserId};
use serde::{Deserialize, Serialize};

/// Shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: a key at least as long as the hash output).
pub const MIN_SECRET_BYTES: usize = 32;

/// The `typ` claim of access tokens, so no other token this issuer signs can pass as one.
const ACCESS_TOKEN_TYPE: &str = "access";

/// What the codec needs to know.
#[derive(Clone)]
pub struct JwtConfig {
    /// HS256 secret; at least [`MIN_SECRET_BYTES`] bytes.
    pub secret: Vec<u8>,
    /// `iss` set and required.
    pub issuer: String,
    /// `aud` set and required.
    pub audience: String,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// Why the codec could not be built.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// The secret is too short to be safe.
    #[error("JWT secret must be at least {MIN_SECRET_BYTES} bytes, got {0}")]
    SecretTooShort(usize),
    /// Signing and verifying a sample token failed.
    #[error("JWT self-test failed: {0}")]
    SelfTest(String),
}

/// HS256 access tokens.
///
/// The algorithm is pinned: tokens whose header names `none`, RS256 or anything but HS256 are refused, as are
/// tokens for another issuer, audience or type. Expiry is left to the domain's clock (see [`AccessTokenCodec`]).
#[derive(Clone)]
pub struct JwtCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    header: Header,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCodec")
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
    /// [`JwtError::SecretTooShort`] or [`JwtError::SelfTest`].
    pub fn new(config: JwtConfig) -> Result<Self, JwtError> {
        if config.secret.len() < MIN_SECRET_BYTES {
            return Err(JwtError::SecretTooShort(config.secret.len()));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
        // The domain checks time against its own clock, so tests can move it.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let codec = Self {
            encoding: EncodingKey::from_secret(&config.secret),
            decoding: DecodingKey::from_secret(&config.secret),
            header: Header::new(Algorithm::HS256),
            validation,
            issuer: config.issuer,
            audience: config.audience,
        };
        codec.self_test()?;
        Ok(codec)
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
            .decode(&token)
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
        jsonwebtoken::encode(&self.header, &claims, &self.encoding)
            .map_err(|error| PortError::new("sign access token", error))
    }

    fn decode(&self, token: &str) -> Result<AccessClaims, DecodeError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
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
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    use super::*;

    fn config() -> JwtConfig {
        JwtConfig {
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
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
        let mut short = config();
        short.secret.truncate(31);
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
            secret: b"ffffffffffffffffffffffffffffffff".to_vec(),
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
            &EncodingKey::from_secret(&config().secret),
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
            &EncodingKey::from_secret(&config().secret),
        )
        .unwrap();
        assert_eq!(codec.decode(&forged), Err(DecodeError::Invalid));
    }
}
