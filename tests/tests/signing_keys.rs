//! Access tokens signed with EdDSA: the public keys at `/.well-known/jwks.json`, and a key rotation across two
//! instances of one deployment. The keys are files, whatever the database, so SQLite alone runs these.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use awc::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use latchkey_tests::{tokens, Backend, TestApp};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

/// Two `openssl genpkey -algorithm ed25519` keys and their public halves (`openssl pkey -pubout`).
const FIRST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINQfExgY4ulInusPzV5it13ygpHRVn8zURRbso7ieS4k
-----END PRIVATE KEY-----
";
const FIRST_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAFd1+hsJmWiqhWs2/dQ+185nqqiRe/B6yZWcwZclzHMI=
-----END PUBLIC KEY-----
";
const SECOND_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIAirI+W1A+2MUw64BoeLwBnYYGLIw7IFX4+vkneeFlve
-----END PRIVATE KEY-----
";
const SECOND_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAU3fk40LcKPMB34YTw4h2ymGLYXhHsDv6WJNIQyy638Q=
-----END PUBLIC KEY-----
";

fn write_key(dir: &Path, name: &str, pem: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// The JOSE header of a JWT.
fn header(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// What the instance answers `GET /auth/me` with this access token.
async fn me_status(app: &TestApp, access: &str) -> StatusCode {
    app.get("/auth/me", Some(access)).await.status
}

/// The key ids the instance publishes, in order.
async fn published_key_ids(app: &TestApp) -> Vec<String> {
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, StatusCode::OK, "{}", jwks.body);
    jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn with_hs256_no_keys_are_published() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, StatusCode::NOT_FOUND);
    assert_eq!(jwks.body["code"], "not_found");
    let registered = app.register("jane@example.com", PASSWORD).await;
    let (access, _) = tokens(&registered.body["token"]);
    assert_eq!(header(&access)["alg"], "HS256");
}

#[actix_web::test]
async fn eddsa_tokens_name_a_published_key_and_work_as_any_other() {
    let keys = tempfile::tempdir().unwrap();
    let private_key = write_key(keys.path(), "jwt.pem", FIRST_KEY);
    let app = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.jwt.private_key_file = Some(private_key);
    })
    .await
    .unwrap();

    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, StatusCode::OK);
    // Public and cacheable, unlike every other answer (no-store).
    assert_eq!(
        jwks.headers.get("cache-control").unwrap(),
        "public, max-age=300"
    );
    let [key] = jwks.body["keys"].as_array().unwrap().as_slice() else {
        panic!("one key expected: {}", jwks.body);
    };
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    // The public half of FIRST_KEY (the last 32 bytes of FIRST_PUBLIC's DER), and nothing private.
    assert_eq!(key["x"], "Fd1-hsJmWiqhWs2_dQ-185nqqiRe_B6yZWcwZclzHMI");
    assert!(key.get("d").is_none());

    let registered = app.register("jane@example.com", PASSWORD).await;
    let (access, _) = tokens(&registered.body["token"]);
    assert_eq!(header(&access)["alg"], "EdDSA");
    assert_eq!(header(&access)["kid"], key["kid"]);
    let me = app.get("/auth/me", Some(&access)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    // Another service verifies the token with what the endpoint served, and nothing else.
    let served: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.body.clone()).unwrap();
    let kid = header(&access)["kid"].as_str().unwrap().to_owned();
    let verifying_key = jsonwebtoken::DecodingKey::from_jwk(served.find(&kid).unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&[&app.settings.jwt.issuer]);
    validation.set_audience(&[&app.settings.jwt.audience]);
    let verified = jsonwebtoken::decode::<Value>(&access, &verifying_key, &validation).unwrap();
    assert_eq!(verified.claims["sub"], registered.body["user"]["id"]);
    // Logins sign with the same key.
    let (login_access, _) = app.login("jane@example.com", PASSWORD).await;
    assert_eq!(header(&login_access)["kid"], key["kid"]);
}

/// The rotation of `docs/operations.md`, step by step, with the instances of each step side by side as a rolling
/// restart has them: the next key is published first; once it signs, tokens of the old key still verify everywhere
/// and the new ones verify on the instances that published it in advance; an instance that never knew it refuses
/// them; and once the old key is dropped, its tokens are refused.
#[actix_web::test]
async fn a_key_rotation_publishes_the_next_key_first_and_keeps_earlier_tokens_valid() {
    let keys = tempfile::tempdir().unwrap();
    let first = write_key(keys.path(), "first.pem", FIRST_KEY);
    let second = write_key(keys.path(), "second.pem", SECOND_KEY);
    let first_public = write_key(keys.path(), "first.pub", FIRST_PUBLIC);
    let second_public = write_key(keys.path(), "second.pub", SECOND_PUBLIC);
    let before = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.jwt.private_key_file = Some(first.clone());
    })
    .await
    .unwrap();
    let registered = before.register("jane@example.com", PASSWORD).await;
    let (old_access, _) = tokens(&registered.body["token"]);
    let [first_kid] = published_key_ids(&before).await.try_into().unwrap();

    // Step 1: the next key is published, and the old one still signs.
    let next_published = before
        .another_instance_with(|settings| {
            settings.jwt.private_key_file = Some(first);
            settings.jwt.verifying_key_files = vec![second_public];
        })
        .await;
    let [signing_kid, second_kid] = published_key_ids(&next_published).await.try_into().unwrap();
    assert_eq!(signing_kid, first_kid);
    let (step_one_access, _) = next_published.login("jane@example.com", PASSWORD).await;
    assert_eq!(header(&step_one_access)["kid"], first_kid.as_str());

    // Step 2: the next key signs, and the old one still verifies.
    let rotated = before
        .another_instance_with(|settings| {
            settings.jwt.private_key_file = Some(second.clone());
            settings.jwt.verifying_key_files = vec![first_public];
        })
        .await;
    assert_eq!(
        published_key_ids(&rotated).await,
        [second_kid.clone(), first_kid]
    );
    for access in [&old_access, &step_one_access] {
        assert_eq!(me_status(&rotated, access).await, StatusCode::OK);
    }
    let (new_access, _) = rotated.login("jane@example.com", PASSWORD).await;
    assert_eq!(header(&new_access)["kid"], second_kid.as_str());
    assert_eq!(
        me_status(&next_published, &new_access).await,
        StatusCode::OK
    );
    assert_eq!(
        me_status(&before, &new_access).await,
        StatusCode::UNAUTHORIZED
    );

    // Step 3: the old key is dropped.
    let old_key_dropped = before
        .another_instance_with(|settings| {
            settings.jwt.private_key_file = Some(second);
        })
        .await;
    assert_eq!(
        me_status(&old_key_dropped, &old_access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me_status(&old_key_dropped, &new_access).await,
        StatusCode::OK
    );
}

/// Switching from HS256 to EdDSA ends the access tokens already issued (the algorithm is pinned), not the sessions:
/// their refresh tokens, which are opaque, get EdDSA tokens.
#[actix_web::test]
async fn switching_to_eddsa_refuses_earlier_access_tokens_and_refresh_gets_new_ones() {
    let keys = tempfile::tempdir().unwrap();
    let private_key = write_key(keys.path(), "jwt.pem", FIRST_KEY);
    let hs256 = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let registered = hs256.register("jane@example.com", PASSWORD).await;
    let (access, refresh) = tokens(&registered.body["token"]);
    let eddsa = hs256
        .another_instance_with(|settings| settings.jwt.private_key_file = Some(private_key))
        .await;
    assert_eq!(me_status(&eddsa, &access).await, StatusCode::UNAUTHORIZED);
    let refreshed = eddsa
        .post_json(
            "/auth/refresh",
            None,
            serde_json::json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let new_access = refreshed.body["access_token"].as_str().unwrap();
    assert_eq!(header(new_access)["alg"], "EdDSA");
    assert_eq!(me_status(&eddsa, new_access).await, StatusCode::OK);
}

#[actix_web::test]
async fn a_private_key_file_every_user_can_read_stops_the_start() {
    let keys = tempfile::tempdir().unwrap();
    let private_key = write_key(keys.path(), "jwt.pem", FIRST_KEY);
    std::fs::set_permissions(&private_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut settings = latchkey_server::Settings::default();
    settings.server.bind = "127.0.0.1:0".into();
    settings.database.url = format!("sqlite://{}", keys.path().join("latchkey.db").display());
    settings.jwt.private_key_file = Some(private_key);
    let error = latchkey_server::Application::build(&settings)
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("jwt.pem"), "{error}");
    assert!(error.to_string().contains("644"), "{error}");
}
