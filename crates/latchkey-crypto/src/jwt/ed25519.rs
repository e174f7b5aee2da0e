//! Ed25519 keys for EdDSA access tokens: reading them from PEM, their key ids, and the JWK Set (RFC 7517) that
//! publishes their public halves, so other services can verify access tokens without sharing a secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{DecodingKey, EncodingKey};

use super::JwtError;

/// Ed25519 keys for EdDSA access tokens: the one that signs, and other public keys that also verify tokens and are
/// published with it: the key a rotation retired (its tokens stay valid until they expire) or the next one (so that
/// verifiers know it before the first token names it). A rotation thus logs nobody out.
///
/// ```
/// # use latchkey_crypto::Ed25519Keys;
/// // `openssl genpkey -algorithm ed25519`
/// let pem = "-----BEGIN PRIVATE KEY-----\n\
///            MC4CAQAwBQYDK2VwBCIEIJ4DtlsxxeVCaE6SPXlGbyGZY8Wb+oAHmWJZD6Nfy16m\n\
///            -----END PRIVATE KEY-----\n";
/// let keys = Ed25519Keys::from_pkcs8_pem(pem)?;
/// assert_eq!(keys.key_id().len(), 43);
/// # Ok::<(), latchkey_crypto::JwtError>(())
/// ```
#[derive(Clone)]
pub struct Ed25519Keys {
    /// Boxed, so that moving the keys copies no secret (it is zeroed when dropped). The codec keeps one more copy,
    /// the DER that jsonwebtoken's `EncodingKey` signs with, for its lifetime.
    signing: Box<SigningKey>,
    others: Vec<VerifyingKey>,
}

impl std::fmt::Debug for Ed25519Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Keys")
            .field("key_id", &self.key_id())
            .field(
                "others",
                &self.others.iter().map(key_id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Ed25519Keys {
    /// Reads the signing key: an Ed25519 private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, as
    /// `openssl genpkey -algorithm ed25519` writes it).
    ///
    /// # Errors
    /// [`JwtError::InvalidKey`] when the text is not such a key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, JwtError> {
        let signing = SigningKey::from_pkcs8_pem(pem).map_err(|_| {
            JwtError::InvalidKey(
                "not an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)".into(),
            )
        })?;
        Ok(Self {
            signing: Box::new(signing),
            others: Vec::new(),
        })
    }

    /// Also accepts, and publishes, tokens signed by another key, given as its public key in PEM
    /// (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -in old.pem -pubout` writes it): the retired key after a
    /// rotation, or the next one before it. The signing key itself, or a key given twice, is ignored.
    ///
    /// # Errors
    /// [`JwtError::InvalidKey`] when the text is not an Ed25519 public key in PEM.
    pub fn with_verifying_key_pem(mut self, pem: &str) -> Result<Self, JwtError> {
        let key = VerifyingKey::from_public_key_pem(pem).map_err(|_| {
            JwtError::InvalidKey(
                "not an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)".into(),
            )
        })?;
        if key != self.signing.verifying_key() && !self.others.contains(&key) {
            self.others.push(key);
        }
        Ok(self)
    }

    /// The signing key's id, the `kid` of every token it signs: its JWK thumbprint (RFC 7638, SHA-256), which
    /// anyone can compute from the public key.
    pub fn key_id(&self) -> String {
        key_id(&self.signing.verifying_key())
    }

    /// The key jsonwebtoken signs with (PKCS#8 DER).
    pub(super) fn encoding_key(&self) -> Result<EncodingKey, JwtError> {
        let der = self
            .signing
            .to_pkcs8_der()
            .map_err(|_| JwtError::InvalidKey("the Ed25519 key cannot be encoded".into()))?;
        Ok(EncodingKey::from_ed_der(der.as_bytes()))
    }

    /// Every key a token may be signed with, by key id: the signing key first, then the others.
    pub(super) fn verification_keys(&self) -> Vec<(String, DecodingKey)> {
        self.public_keys()
            .map(|key| (key_id(key), DecodingKey::from_ed_der(key.as_bytes())))
            .collect()
    }

    /// The JWK Set served at `/.well-known/jwks.json`: every key a token may be signed with.
    pub(super) fn jwk_set(&self) -> JwkSet {
        JwkSet {
            keys: self.public_keys().map(jwk).collect(),
        }
    }

    fn public_keys(&self) -> impl Iterator<Item = &VerifyingKey> {
        let signing: &VerifyingKey = (*self.signing).as_ref();
        std::iter::once(signing).chain(&self.others)
    }
}

/// The public key as a JWK (RFC 8037: `kty` OKP, `crv` Ed25519), for signatures with EdDSA, under its thumbprint.
fn jwk(key: &VerifyingKey) -> Jwk {
    let mut jwk = Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            ..CommonParameters::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: URL_SAFE_NO_PAD.encode(key.as_bytes()),
        }),
    };
    jwk.common.key_id = Some(jwk.thumbprint(ThumbprintHash::SHA256));
    jwk
}

/// The RFC 7638 thumbprint of the public key's JWK.
fn key_id(key: &VerifyingKey) -> String {
    jwk(key).common.key_id.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037 appendix A.1's private key and A.2's public key.
    const RFC_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
        -----END PRIVATE KEY-----\n";
    const RFC_PUBLIC_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    /// RFC 8037 appendix A.3: the thumbprint of that public key.
    const RFC_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

    /// Another key, for rotations.
    const OTHER_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIJ4DtlsxxeVCaE6SPXlGbyGZY8Wb+oAHmWJZD6Nfy16m\n\
        -----END PRIVATE KEY-----\n";

    fn public_pem(private: &str) -> String {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        SigningKey::from_pkcs8_pem(private)
            .unwrap()
            .verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap()
    }

    #[test]
    fn the_key_id_is_the_rfc_7638_thumbprint_and_the_jwk_is_rfc_8037s() {
        let keys = Ed25519Keys::from_pkcs8_pem(RFC_PRIVATE).unwrap();
        assert_eq!(keys.key_id(), RFC_THUMBPRINT);
        let set = serde_json::to_value(keys.jwk_set()).unwrap();
        assert_eq!(
            set,
            serde_json::json!({"keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": RFC_PUBLIC_X,
                "use": "sig",
                "alg": "EdDSA",
                "kid": RFC_THUMBPRINT,
            }]})
        );
    }

    #[test]
    fn the_jwk_set_publishes_public_halves_only() {
        let keys = Ed25519Keys::from_pkcs8_pem(RFC_PRIVATE).unwrap();
        let text = serde_json::to_string(&keys.jwk_set()).unwrap();
        // RFC 8037's private scalar, base64url: never published.
        assert!(!text.contains("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"));
        assert!(!text.contains("\"d\""));
    }

    #[test]
    fn other_keys_are_published_after_the_signing_key_once_each() {
        let keys = Ed25519Keys::from_pkcs8_pem(OTHER_PRIVATE)
            .unwrap()
            .with_verifying_key_pem(&public_pem(RFC_PRIVATE))
            .unwrap()
            .with_verifying_key_pem(&public_pem(RFC_PRIVATE))
            .unwrap()
            .with_verifying_key_pem(&public_pem(OTHER_PRIVATE))
            .unwrap();
        let ids: Vec<_> = keys
            .jwk_set()
            .keys
            .into_iter()
            .map(|jwk| jwk.common.key_id.unwrap())
            .collect();
        assert_eq!(ids, [keys.key_id(), RFC_THUMBPRINT.to_owned()]);
    }

    #[test]
    fn refuses_what_is_not_an_ed25519_key_in_pem() {
        for text in ["", "garbage", &public_pem(RFC_PRIVATE)] {
            assert!(matches!(
                Ed25519Keys::from_pkcs8_pem(text),
                Err(JwtError::InvalidKey(_))
            ));
        }
        let keys = Ed25519Keys::from_pkcs8_pem(RFC_PRIVATE).unwrap();
        assert!(matches!(
            keys.with_verifying_key_pem(RFC_PRIVATE),
            Err(JwtError::InvalidKey(_))
        ));
    }

    #[test]
    fn debug_shows_key_ids_not_keys() {
        let keys = Ed25519Keys::from_pkcs8_pem(RFC_PRIVATE).unwrap();
        let shown = format!("{keys:?}");
        assert!(shown.contains(RFC_THUMBPRINT));
        assert!(!shown.contains("nWGxne"));
    }
}
