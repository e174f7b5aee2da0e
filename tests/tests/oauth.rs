//! Latchkey driven by a standard OAuth2 client library (the `oauth2` crate), as people will point theirs at it:
//! the password and refresh grants at `/oauth/token`, revocation and introspection, and the errors the library
//! must recognise as errors. Each scenario on a fresh SQLite file and a fresh PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt;

use awc::http::StatusCode;
use latchkey_tests::{Backend, Body, TestApp, INTROSPECTION_SECRET};
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AccessToken, ClientId, ClientSecret, EndpointNotSet, EndpointSet, IntrospectionUrl,
    RefreshToken, RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername, RevocationUrl,
    Scope, StandardRevocableToken, TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use serde_json::json;

macro_rules! on_every_backend {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $scenario() {
                    let app = super::TestApp::spawn(super::Backend::Sqlite).await.expect("SQLite always runs");
                    super::$scenario(&app).await;
                }
            )+
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $scenario() {
                    let Some(app) = super::TestApp::spawn(super::Backend::Postgres).await else { return };
                    super::$scenario(&app).await;
                }
            )+
        }
    };
}

on_every_backend!(
    the_password_and_refresh_grants_work_with_an_oauth2_client,
    a_wrong_password_is_the_client_librarys_invalid_grant,
    a_spent_refresh_token_is_the_client_librarys_invalid_grant,
    the_plain_api_takes_the_oauth2_forms_and_answers_rfc_6749_errors,
    a_revoked_refresh_token_ends_its_session_everywhere,
    introspection_reflects_revocation_at_once_on_every_instance,
    introspection_is_protected_and_can_be_disabled,
    personal_tokens_and_api_keys_are_introspected_and_revoked_by_their_secret,
);

const PASSWORD: &str = "correct horse battery";

/// A public client of the password flow, as an app would configure one: token, revocation and introspection URLs,
/// a client id and no secret.
type Client = BasicClient<EndpointNotSet, EndpointNotSet, EndpointSet, EndpointSet, EndpointSet>;

/// The client for `app`. The library insists on HTTPS for revocation (RFC 7009 §2 makes clients check it), so the
/// URLs say `https`; [`transport`] stands in for the TLS hop a deployment has in front of Latchkey.
fn client(app: &TestApp) -> Client {
    let base = app.address.replacen("http://", "https://", 1);
    BasicClient::new(ClientId::new("my-app".to_owned()))
        .set_token_uri(TokenUrl::new(format!("{base}/oauth/token")).unwrap())
        .set_revocation_url(RevocationUrl::new(format!("{base}/oauth/revoke")).unwrap())
        .set_introspection_url(IntrospectionUrl::new(format!("{base}/oauth/introspect")).unwrap())
}

/// A backend's client for introspection: the same URLs, authenticated with the introspection secret (which the
/// library sends as HTTP Basic, form-encoded as RFC 6749 §2.3.1 says).
fn backend(app: &TestApp, secret: &str) -> Client {
    client(app).set_client_secret(ClientSecret::new(secret.to_owned()))
}

/// Why [`transport`] could not deliver a request.
#[derive(Debug)]
struct TransportError(String);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

fn failed(error: impl fmt::Display) -> TransportError {
    TransportError(error.to_string())
}

/// The library's HTTP client: sends its request as built (method, headers, body) over awc, to the loopback server
/// in plain HTTP, and hands the response back untouched.
async fn transport(request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, TransportError> {
    let url = request.uri().to_string().replacen("https://", "http://", 1);
    let method =
        awc::http::Method::from_bytes(request.method().as_str().as_bytes()).map_err(failed)?;
    let mut outgoing = awc::Client::default().request(method, url);
    for (name, value) in request.headers() {
        outgoing = outgoing.append_header((name.as_str(), value.to_str().map_err(failed)?));
    }
    let mut response = outgoing
        .send_body(request.into_body())
        .await
        .map_err(failed)?;
    let body = response.body().limit(1 << 20).await.map_err(failed)?;
    let mut incoming = oauth2::http::Response::builder().status(response.status().as_u16());
    for (name, value) in response.headers() {
        incoming = incoming.header(name.as_str(), value.as_bytes());
    }
    incoming.body(body.to_vec()).map_err(failed)
}

async fn register(app: &TestApp, email: &str) {
    let reply = app.register(email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

/// The library's token response for a password grant.
async fn password_grant(app: &TestApp, username: &str) -> oauth2::basic::BasicTokenResponse {
    client(app)
        .exchange_password(
            &ResourceOwnerUsername::new(username.to_owned()),
            &ResourceOwnerPassword::new(PASSWORD.to_owned()),
        )
        .add_scope(Scope::new("profile:read".to_owned()))
        .request_async(&transport)
        .await
        .expect("the password grant succeeds")
}

/// Asserts the library reports the server's RFC 6749 error `invalid_grant`, with its description.
#[track_caller]
fn assert_invalid_grant<T: fmt::Debug, RE: std::error::Error + 'static>(
    result: Result<T, RequestTokenError<RE, oauth2::basic::BasicErrorResponse>>,
    description: &str,
) {
    match result {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(*error.error(), BasicErrorResponseType::InvalidGrant);
            assert_eq!(
                error.error_description().map(String::as_str),
                Some(description)
            );
        }
        other => panic!("expected the library's invalid_grant, got {other:?}"),
    }
}

async fn the_password_and_refresh_grants_work_with_an_oauth2_client(app: &TestApp) {
    register(app, "jane@example.com").await;
    let token = password_grant(app, "jane@example.com").await;
    assert_eq!(*token.token_type(), BasicTokenType::Bearer);
    // Counted from the response, so a second may have started since the token was issued.
    let expires_in = token.expires_in().expect("expires_in").as_secs();
    assert!(
        (15 * 60 - 1..=15 * 60).contains(&expires_in),
        "{expires_in}"
    );
    let me = app
        .get("/auth/me", Some(token.access_token().secret()))
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], "jane@example.com");

    let refresh = token.refresh_token().expect("a refresh token");
    let renewed = client(app)
        .exchange_refresh_token(refresh)
        .request_async(&transport)
        .await
        .expect("the refresh grant succeeds");
    let renewed_refresh = renewed.refresh_token().expect("a new refresh token");
    assert_ne!(renewed_refresh.secret(), refresh.secret());
    let me = app
        .get("/auth/me", Some(renewed.access_token().secret()))
        .await;
    assert_eq!(me.status, StatusCode::OK);
}

async fn a_wrong_password_is_the_client_librarys_invalid_grant(app: &TestApp) {
    register(app, "jane@example.com").await;
    for username in ["jane@example.com", "nobody@example.com"] {
        let result = client(app)
            .exchange_password(
                &ResourceOwnerUsername::new(username.to_owned()),
                &ResourceOwnerPassword::new("wrong password".to_owned()),
            )
            .request_async(&transport)
            .await;
        assert_invalid_grant(result, "Invalid credentials");
    }
}

async fn a_spent_refresh_token_is_the_client_librarys_invalid_grant(app: &TestApp) {
    register(app, "jane@example.com").await;
    let first = password_grant(app, "jane@example.com").await;
    let refresh = |token: RefreshToken| async move {
        client(app)
            .exchange_refresh_token(&token)
            .request_async(&transport)
            .await
    };
    let spent = first.refresh_token().unwrap().clone();
    let second = refresh(spent.clone()).await.unwrap();
    // Its successor is used: presenting the spent token now is reuse, even within the retry grace.
    let third = refresh(second.refresh_token().unwrap().clone())
        .await
        .unwrap();
    assert_invalid_grant(refresh(spent).await, "Invalid or expired refresh token");
    // Reuse revoked the session: the newest tokens die with it.
    assert_invalid_grant(
        refresh(third.refresh_token().unwrap().clone()).await,
        "Invalid or expired refresh token",
    );
    let me = app
        .get("/auth/me", Some(third.access_token().secret()))
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

async fn the_plain_api_takes_the_oauth2_forms_and_answers_rfc_6749_errors(app: &TestApp) {
    register(app, "jane@example.com").await;
    let login = app
        .request(
            "POST",
            "/auth/login",
            None,
            Some(Body::Form(vec![
                ("grant_type", "password"),
                ("username", "jane@example.com"),
                ("password", PASSWORD),
                ("client_id", "my-app"),
                ("scope", "profile:read"),
            ])),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let refresh_token = login.body["refresh_token"].as_str().unwrap();

    let refreshed = app
        .request(
            "POST",
            "/auth/refresh",
            None,
            Some(Body::Form(vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(refreshed.body["token_type"], "bearer");

    let wrong = app
        .request(
            "POST",
            "/auth/login",
            None,
            Some(Body::Form(vec![
                ("username", "jane@example.com"),
                ("password", "wrong password"),
            ])),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.body,
        json!({"detail": "Invalid credentials", "code": "invalid_credentials",
               "error": "invalid_grant", "error_description": "Invalid credentials"})
    );
    let unsupported = app
        .request(
            "POST",
            "/auth/refresh",
            None,
            Some(Body::Form(vec![
                ("grant_type", "client_credentials"),
                ("refresh_token", refresh_token),
            ])),
        )
        .await;
    assert_eq!(unsupported.status, StatusCode::BAD_REQUEST);
    assert_eq!(unsupported.body["code"], "unsupported_grant_type");
    assert_eq!(unsupported.body["error"], "unsupported_grant_type");
    let malformed = app
        .request(
            "POST",
            "/oauth/token",
            None,
            Some(Body::Form(vec![("grant_type", "password")])),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.body["error"], "invalid_request");
}

async fn a_revoked_refresh_token_ends_its_session_everywhere(app: &TestApp) {
    register(app, "jane@example.com").await;
    let phone = password_grant(app, "jane@example.com").await;
    let laptop = password_grant(app, "jane@example.com").await;
    let other = app.another_instance().await;

    let refresh = phone.refresh_token().unwrap().clone();
    client(app)
        .revoke_token(StandardRevocableToken::RefreshToken(refresh.clone()))
        .unwrap()
        .request_async(&transport)
        .await
        .expect("revocation succeeds");
    for instance in [app, &other] {
        let me = instance
            .get("/auth/me", Some(phone.access_token().secret()))
            .await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        let me = instance
            .get("/auth/me", Some(laptop.access_token().secret()))
            .await;
        assert_eq!(me.status, StatusCode::OK);
    }
    assert_invalid_grant(
        client(&other)
            .exchange_refresh_token(&refresh)
            .request_async(&transport)
            .await,
        "Invalid or expired refresh token",
    );

    // Revoking it again, or revoking what was never issued, is the same success.
    for token in [refresh, RefreshToken::new("lkr_never-issued".to_owned())] {
        client(app)
            .revoke_token(StandardRevocableToken::RefreshToken(token))
            .unwrap()
            .request_async(&transport)
            .await
            .expect("revocation succeeds");
    }
    // An access token can be revoked too: its session ends.
    client(app)
        .revoke_token(StandardRevocableToken::AccessToken(
            laptop.access_token().clone(),
        ))
        .unwrap()
        .request_async(&transport)
        .await
        .expect("revocation succeeds");
    let me = other
        .get("/auth/me", Some(laptop.access_token().secret()))
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

async fn introspection_reflects_revocation_at_once_on_every_instance(app: &TestApp) {
    register(app, "jane@example.com").await;
    let token = password_grant(app, "jane@example.com").await;
    let user_id = app
        .get("/auth/me", Some(token.access_token().secret()))
        .await
        .body["id"]
        .clone();
    let other = app.another_instance().await;

    let introspected = backend(&other, INTROSPECTION_SECRET)
        .introspect(token.access_token())
        .request_async(&transport)
        .await
        .expect("introspection succeeds");
    assert!(introspected.active());
    assert_eq!(Some(introspected.sub().unwrap()), user_id.as_str());
    assert_eq!(introspected.token_type(), Some(&BasicTokenType::Bearer));
    let scopes: Vec<&str> = introspected
        .scopes()
        .unwrap()
        .iter()
        .map(|scope| scope.as_str())
        .collect();
    assert_eq!(
        scopes,
        [
            "profile:read",
            "profile:write",
            "credits:read",
            "credits:charge"
        ]
    );
    let (iat, exp) = (introspected.iat().unwrap(), introspected.exp().unwrap());
    assert_eq!((exp - iat).num_seconds(), 15 * 60);

    // Logged out on one instance: inactive on the other at once.
    let logout = app
        .post_json(
            "/auth/logout",
            Some(token.access_token().secret()),
            json!({}),
        )
        .await;
    assert_eq!(logout.status, StatusCode::OK);
    for token in [
        token.access_token().clone(),
        AccessToken::new(token.refresh_token().unwrap().secret().clone()),
        AccessToken::new("garbage".to_owned()),
    ] {
        let introspected = backend(&other, INTROSPECTION_SECRET)
            .introspect(&token)
            .request_async(&transport)
            .await
            .expect("introspection succeeds");
        assert!(!introspected.active());
        assert!(introspected.sub().is_none() && introspected.scopes().is_none());
    }
}

async fn introspection_is_protected_and_can_be_disabled(app: &TestApp) {
    register(app, "jane@example.com").await;
    let token = password_grant(app, "jane@example.com").await;

    // Without the secret, or with another: the library's invalid_client, and nothing about the token.
    for secret in [None, Some("not-the-introspection-secret-but-32-bytes-long")] {
        let client = match secret {
            Some(secret) => backend(app, secret),
            None => client(app),
        };
        match client
            .introspect(token.access_token())
            .request_async(&transport)
            .await
        {
            Err(RequestTokenError::ServerResponse(error)) => {
                assert_eq!(*error.error(), BasicErrorResponseType::InvalidClient);
            }
            other => panic!("expected invalid_client, got {other:?}"),
        }
    }

    // An instance configured without a secret has no introspection endpoint at all.
    let disabled = app
        .another_instance_with(|settings| settings.introspection.secret = None)
        .await;
    let reply = disabled
        .request(
            "POST",
            "/oauth/introspect",
            Some(INTROSPECTION_SECRET),
            Some(Body::Form(vec![("token", token.access_token().secret())])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.body,
        json!({"detail": "Not found", "code": "not_found"})
    );
}

async fn personal_tokens_and_api_keys_are_introspected_and_revoked_by_their_secret(app: &TestApp) {
    register(app, "jane@example.com").await;
    let session = password_grant(app, "jane@example.com").await;
    let session = session.access_token().secret();
    let expires_at = (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339();
    let pat = app
        .post_json(
            "/auth/tokens",
            Some(session),
            json!({"name": "ci", "expires_at": expires_at, "scopes": ["profile:read"]}),
        )
        .await;
    assert_eq!(pat.status, StatusCode::CREATED, "{}", pat.body);
    let key = app
        .post_json(
            "/auth/keys",
            Some(session),
            json!({"name": "billing", "scopes": ["credits:read", "credits:charge"]}),
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.body);
    let pat = AccessToken::new(pat.body["token"].as_str().unwrap().to_owned());
    let key = AccessToken::new(key.body["api_key"].as_str().unwrap().to_owned());
    let other = app.another_instance().await;

    let introspect = |token: AccessToken| {
        let other = &other;
        async move {
            backend(other, INTROSPECTION_SECRET)
                .introspect(&token)
                .request_async(&transport)
                .await
                .expect("introspection succeeds")
        }
    };
    let scopes = |response: &oauth2::basic::BasicTokenIntrospectionResponse| -> Vec<String> {
        response
            .scopes()
            .map(|scopes| scopes.iter().map(|scope| scope.to_string()).collect())
            .unwrap_or_default()
    };
    let of_pat = introspect(pat.clone()).await;
    assert!(of_pat.active());
    assert_eq!(scopes(&of_pat), ["profile:read"]);
    assert_eq!(of_pat.token_type(), Some(&BasicTokenType::Bearer));
    assert!(of_pat.exp().is_some());
    let of_key = introspect(key.clone()).await;
    assert!(of_key.active());
    assert_eq!(scopes(&of_key), ["credits:read", "credits:charge"]);
    assert_eq!(
        of_key.token_type(),
        Some(&BasicTokenType::Extension("api_key".to_owned()))
    );
    assert!(of_key.exp().is_none(), "a key without expiry");

    // Whoever holds one can revoke it; every instance refuses it from then on.
    for token in [pat.clone(), key.clone()] {
        client(app)
            .revoke_token(StandardRevocableToken::AccessToken(token.clone()))
            .unwrap()
            .request_async(&transport)
            .await
            .expect("revocation succeeds");
        assert!(!introspect(token).await.active());
    }
    let me = other.get("/auth/me", Some(pat.secret())).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let me = other.get("/auth/me", Some(session)).await;
    assert_eq!(
        me.status,
        StatusCode::OK,
        "the session that made them lives on"
    );
}
