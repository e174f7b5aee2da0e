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
    // Logins sign with the same key.
    let (login_access, _) = app.login("jane@example.com", PASSWORD).await;
    assert_eq!(header(&login_access)["kid"], key["kid"]);
}

/// A rotation as `docs/operations.md` tells it: the new instance signs with the new key and still accepts (and
/// publishes) the retired one, so tokens issued before the rotation keep working; an instance that only knows the
/// old key refuses the new tokens, and once the retired key is dropped its tokens are refused.
#[actix_web::test]
async fn a_key_rotation_keeps_earlier_tokens_valid_while_the_retired_key_is_listed() {
    let keys = tempfile::tempdir().unwrap();
    let first = write_key(keys.path(), "first.pem", FIRST_KEY);
    let second = write_key(keys.path(), "second.pem", SECOND_KEY);
    let first_public = write_key(keys.path(), "first.pub", FIRST_PUBLIC);
    let before = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.jwt.private_key_file = Some(first);
    })
    .await
    .unwrap();
    let registered = before.register("jane@example.com", PASSWORD).await;
    let (old_access, _) = tokens(&registered.body["token"]);
    let [first_kid] = published_key_ids(&before).await.try_into().unwrap();

    let rotated = before
        .another_instance_with(|settings| {
            settings.jwt.private_key_file = Some(second.clone());
            settings.jwt.retired_public_key_files = vec![first_public];
        })
        .await;
    let published = published_key_ids(&rotated).await;
    assert_eq!(published.len(), 2);
    assert_eq!(published[1], first_kid);
    assert_eq!(
        rotated.get("/auth/me", Some(&old_access)).await.status,
        StatusCode::OK
    );
    let (new_access, _) = rotated.login("jane@example.com", PASSWORD).await;
    assert_eq!(header(&new_access)["kid"], published[0]);
    assert_eq!(
        before.get("/auth/me", Some(&new_access)).await.status,
        StatusCode::UNAUTHORIZED
    );

    let retired_dropped = before
        .another_instance_with(|settings| {
            settings.jwt.private_key_file = Some(second);
        })
        .await;
    assert_eq!(
        retired_dropped
            .get("/auth/me", Some(&old_access))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        retired_dropped
            .get("/auth/me", Some(&new_access))
            .await
            .status,
        StatusCode::OK
    );
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
        .err()
        .expect("refused");
    assert!(error.to_string().contains("jwt.pem"), "{error}");
    assert!(error.to_string().contains("644"), "{error}");
}
