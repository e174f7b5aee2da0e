//! The OpenAPI document against the routes the app serves, and the reference page.
//!
//! The document is built from the same registration that serves the routes, so these tests check what that cannot
//! guarantee by itself: that each operation declares every status its extractors and use case can answer (by a
//! table here, and by provoking each error and looking it up), that every error response is the envelope, and that
//! the 405's `Allow` header agrees with the document.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::header::{self, ContentType};
use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::support::{access_token, bearer, spawn_introspecting as spawn, Reply, TestApp};

/// Every operation the API serves, with every status it can answer. Adding an endpoint or a status means
/// adding it here too: the test then proves the document says the same. (The app under test has introspection
/// enabled, so that `/oauth/introspect` is served as a configured server serves it; disabled, it is a 404.)
const OPERATIONS: &[(&str, &str, &[u16])] = &[
    ("GET", "/healthz", &[200, 415]),
    ("GET", "/readyz", &[200, 415, 503]),
    ("GET", "/metrics", &[200, 404, 415]),
    ("GET", "/.well-known/jwks.json", &[200, 404, 415]),
    ("GET", "/docs", &[200, 415]),
    ("GET", "/api/v1/openapi.json", &[200, 415]),
    (
        "POST",
        "/api/v1/auth/register",
        &[201, 400, 409, 413, 415, 429, 503],
    ),
    (
        "POST",
        "/api/v1/auth/login",
        &[200, 400, 401, 403, 413, 415, 429, 503],
    ),
    (
        "POST",
        "/api/v1/auth/refresh",
        &[200, 400, 401, 413, 415, 429, 503],
    ),
    (
        "POST",
        "/api/v1/auth/logout",
        &[200, 400, 401, 403, 413, 415, 503],
    ),
    ("GET", "/api/v1/auth/sessions", &[200, 401, 403, 415, 503]),
    (
        "DELETE",
        "/api/v1/auth/sessions/{id}",
        &[204, 401, 403, 404, 415, 503],
    ),
    (
        "GET",
        "/api/v1/auth/events",
        &[200, 400, 401, 403, 415, 503],
    ),
    ("GET", "/api/v1/auth/me", &[200, 401, 403, 415, 503]),
    (
        "PATCH",
        "/api/v1/auth/me",
        &[200, 400, 401, 403, 409, 413, 415, 503],
    ),
    (
        "DELETE",
        "/api/v1/auth/me",
        &[204, 400, 401, 403, 413, 415, 429, 503],
    ),
    (
        "POST",
        "/api/v1/auth/change-email",
        &[202, 400, 401, 403, 409, 413, 415, 429, 503],
    ),
    ("GET", "/api/v1/auth/credits", &[200, 401, 403, 415, 503]),
    (
        "POST",
        "/api/v1/credits/charges",
        &[201, 400, 401, 402, 403, 409, 413, 415, 422, 503],
    ),
    (
        "POST",
        "/api/v1/credits/charges/{id}/refund",
        &[201, 401, 403, 404, 409, 415, 503],
    ),
    (
        "GET",
        "/api/v1/credits/ledger",
        &[200, 400, 401, 403, 415, 503],
    ),
    (
        "POST",
        "/api/v1/auth/change-password",
        &[200, 400, 401, 403, 413, 415, 429, 503],
    ),
    (
        "POST",
        "/api/v1/auth/verify-email",
        &[200, 400, 409, 413, 415, 429, 503],
    ),
    (
        "POST",
        "/api/v1/auth/resend-verification",
        &[202, 400, 401, 403, 413, 415, 429, 503],
    ),
    (
        "POST",
        "/api/v1/auth/forgot-password",
        &[202, 400, 413, 415, 429, 503],
    ),
    (
        "POST",
        "/api/v1/auth/reset-password",
        &[200, 400, 413, 415, 503],
    ),
    (
        "POST",
        "/api/v1/auth/tokens",
        &[201, 400, 401, 403, 409, 413, 415, 503],
    ),
    ("GET", "/api/v1/auth/tokens", &[200, 401, 403, 415, 503]),
    (
        "DELETE",
        "/api/v1/auth/tokens/{id}",
        &[204, 401, 403, 404, 415, 503],
    ),
    (
        "POST",
        "/api/v1/auth/tokens/{id}/rotate",
        &[201, 401, 403, 404, 415, 503],
    ),
    (
        "POST",
        "/api/v1/auth/keys",
        &[201, 400, 401, 403, 409, 413, 415, 503],
    ),
    ("GET", "/api/v1/auth/keys", &[200, 401, 403, 415, 503]),
    (
        "DELETE",
        "/api/v1/auth/keys/{id}",
        &[204, 401, 403, 404, 415, 503],
    ),
    (
        "POST",
        "/api/v1/auth/keys/{id}/rotate",
        &[201, 401, 403, 404, 415, 503],
    ),
    ("POST", "/oauth/token", &[200, 400, 401, 413, 415, 429, 503]),
    ("POST", "/oauth/revoke", &[200, 400, 413, 415, 503]),
    (
        "POST",
        "/oauth/introspect",
        &[200, 400, 401, 404, 413, 415, 503],
    ),
];

/// The operations that hash a password, and so may answer 503 `overloaded` with `Retry-After`.
const HASHING: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/change-password"),
    ("POST", "/api/v1/auth/change-email"),
    ("DELETE", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/reset-password"),
    ("POST", "/oauth/token"),
];

/// Served on purpose without being in the document: the reference page's static files.
const UNDOCUMENTED: &[(&str, &str)] = &[
    ("GET", "/docs/swagger-ui.css"),
    ("GET", "/verify-email"),
    ("POST", "/verify-email"),
    ("POST", "/verify-email/resend"),
    ("GET", "/reset-password"),
    ("POST", "/reset-password"),
    ("POST", "/reset-password/request"),
    ("GET", "/assets/latchkey.css"),
];

/// `{}` compressed with gzip.
const GZIP_EMPTY_OBJECT: &[u8] = &[
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xab, 0xae, 0x05, 0x00, 0x43, 0xbf,
    0xa6, 0xa3, 0x02, 0x00, 0x00, 0x00,
];

const METHODS: [&str; 8] = [
    "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE",
];

async fn document(app: &TestApp) -> Value {
    let reply = app
        .send(TestRequest::get().uri("/api/v1/openapi.json"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(header::CONTENT_TYPE), Some("application/json"));
    reply.json()
}

/// `(method, path) -> operation` for every operation of the document.
fn operations(document: &Value) -> BTreeMap<(String, String), Value> {
    let mut operations = BTreeMap::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let method = method.to_ascii_uppercase();
            if METHODS.contains(&method.as_str()) {
                operations.insert((method, path.clone()), operation.clone());
            }
        }
    }
    operations
}

fn statuses(operation: &Value) -> BTreeSet<u16> {
    operation["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .map(|status| status.parse().expect("a numeric status"))
        .collect()
}

/// A concrete URI for a path template.
fn uri(path: &str) -> String {
    path.replace("{id}", "ses_doesnotexist")
}

/// The response object behind a response or its `$ref`.
fn resolve<'a>(document: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/responses/")
                .unwrap_or_else(|| panic!("unexpected reference {reference}"));
            &document["components"]["responses"][name]
        }
        None => response,
    }
}

#[actix_web::test]
async fn the_document_is_openapi_3_1_json() {
    let app = spawn().await;
    let document = document(&app).await;
    let version = document["openapi"].as_str().expect("openapi");
    assert!(version.starts_with("3.1."), "{version}");
    assert_eq!(document["info"]["title"], "Latchkey");
    let bearer = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    let api_key = &document["components"]["securitySchemes"]["api_key"];
    assert_eq!(api_key["type"], "apiKey");
    assert_eq!(api_key["in"], "header");
    assert_eq!(api_key["name"], "X-API-Key");
}

#[actix_web::test]
async fn every_operation_is_documented_with_every_status_it_answers() {
    let app = spawn().await;
    let document = document(&app).await;
    let documented = operations(&document);

    let expected: BTreeMap<(String, String), BTreeSet<u16>> = OPERATIONS
        .iter()
        .map(|(method, path, statuses)| {
            (
                ((*method).to_owned(), (*path).to_owned()),
                statuses.iter().copied().collect(),
            )
        })
        .collect();
    assert_eq!(
        documented.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the documented operations differ from the expected ones"
    );
    for (key, operation) in &documented {
        assert_eq!(statuses(operation), expected[key], "{key:?}");
        assert!(
            operation["operationId"].is_string(),
            "{key:?} has no operationId"
        );
        assert!(operation["summary"].is_string(), "{key:?} has no summary");
    }
}

#[actix_web::test]
async fn every_error_response_is_the_envelope() {
    let app = spawn().await;
    let document = document(&app).await;
    let envelope = &document["components"]["schemas"]["Error"];
    assert_eq!(envelope["required"], json!(["detail", "code"]));

    let schemes: BTreeSet<&String> = document["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes")
        .keys()
        .collect();
    for (key, operation) in operations(&document) {
        for (status, response) in operation["responses"].as_object().expect("responses") {
            let response = resolve(&document, response);
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{key:?} {status} has no description"
            );
            if status.starts_with('4') || status.starts_with('5') {
                let content = response["content"].as_object().expect("error content");
                assert_eq!(
                    content.keys().collect::<Vec<_>>(),
                    ["application/json"],
                    "{key:?} {status}"
                );
                assert_eq!(
                    content["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
                    "{key:?} {status} is not the error envelope"
                );
            }
            if status == "401" {
                assert!(
                    response["headers"]["WWW-Authenticate"].is_object(),
                    "{key:?} 401 without its challenge"
                );
            }
        }
        // An operation that needs a token says so, with a declared scheme, and documents the 401.
        if let Some(requirements) = operation["security"].as_array() {
            for requirement in requirements {
                for scheme in requirement.as_object().expect("requirement").keys() {
                    assert!(schemes.contains(scheme), "{key:?} names {scheme}");
                }
            }
            assert!(statuses(&operation).contains(&401), "{key:?}");
        }
    }
}

/// The charge documents its `Idempotency-Key` header with its bounds, and its units as this server prices them.
#[actix_web::test]
async fn the_charge_documents_its_idempotency_key_and_its_units() {
    let app = spawn().await;
    let document = document(&app).await;
    let operation = &document["paths"]["/api/v1/credits/charges"]["post"];
    let header = operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .expect("the Idempotency-Key parameter");
    assert_eq!(header["in"], "header");
    assert_eq!(header["required"], true);
    assert_eq!(header["schema"]["maxLength"], 255);
    assert_eq!(header["schema"]["minLength"], 1);
    let unit = &document["components"]["schemas"]["ChargeRequest"]["properties"]["unit"];
    assert_eq!(unit["enum"], json!(["photo", "second_video"]));
    let envelope = &document["components"]["schemas"]["Error"]["properties"];
    assert!(envelope["credits"].is_object() && envelope["required"].is_object());
}

/// An event's `kind` is documented as the list of every kind the domain records, so a new kind cannot be left out.
#[actix_web::test]
async fn event_kinds_are_documented_from_the_domain() {
    let app = spawn().await;
    let document = document(&app).await;
    let kind = &document["components"]["schemas"]["SecurityEvent"]["properties"]["kind"];
    let documented: Vec<&str> = kind["enum"]
        .as_array()
        .expect("an enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let recorded: Vec<&str> = latchkey_domain::EventKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect();
    assert_eq!(documented, recorded);
    assert!(documented.contains(&"account_deleted"));
}

#[actix_web::test]
async fn operations_that_hash_document_the_overload_and_its_retry_after() {
    let app = spawn().await;
    let document = document(&app).await;
    for ((method, path), operation) in operations(&document) {
        let Some(unavailable) = operation["responses"].get("503") else {
            continue;
        };
        let unavailable = resolve(&document, unavailable);
        let hashes = HASHING.contains(&(method.as_str(), path.as_str()));
        let description = unavailable["description"].as_str().unwrap();
        assert_eq!(
            description.contains("`overloaded`"),
            hashes,
            "{method} {path}: {description}"
        );
        assert_eq!(
            unavailable["headers"]["Retry-After"]["schema"]["type"] == "integer",
            hashes,
            "{method} {path}"
        );
    }
}

/// Every documented operation is served, and every other method on its path gets the 405 whose `Allow` lists
/// exactly the documented methods.
#[actix_web::test]
async fn the_routes_served_are_the_documented_ones() {
    let app = spawn().await;
    let document = document(&app).await;
    let mut allowed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (method, path) in operations(&document).into_keys() {
        allowed.entry(path).or_default().push(method);
    }
    for (method, path) in UNDOCUMENTED {
        allowed
            .entry((*path).to_owned())
            .or_default()
            .push((*method).to_owned());
    }
    // HEAD is answered wherever GET is (`answer_head`), and listed in `Allow` with it.
    for methods in allowed.values_mut() {
        if methods.iter().any(|m| m == "GET") {
            methods.push("HEAD".to_owned());
        }
        methods.sort();
    }

    for (path, methods) in &allowed {
        for method in METHODS {
            let request = TestRequest::default()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(&uri(path));
            let reply = app.send(request).await;
            if methods.iter().any(|m| m == method) {
                assert_ne!(
                    reply.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                let unrouted =
                    reply.status == StatusCode::NOT_FOUND && reply.json()["detail"] == "Not found";
                assert!(!unrouted, "{method} {path} is documented but not served");
            } else {
                reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
                let allow: Vec<&str> = reply
                    .header(header::ALLOW)
                    .unwrap_or_else(|| panic!("{method} {path}: no Allow"))
                    .split(", ")
                    .collect();
                assert_eq!(allow, *methods, "{method} {path}");
            }
        }
    }
}

/// Sends the requests that make each extractor and use case fail, to every operation, and checks each answer is
/// a status its operation documents, with the envelope for errors. A handler that gains an extractor (a body, a
/// token) without its statuses in the document fails here.
#[actix_web::test]
async fn every_error_the_routes_answer_is_documented() {
    let app = spawn().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    let document = document(&app).await;
    let huge = json!({"padding": "a".repeat(40 * 1024)}).to_string();

    for ((method, path), operation) in operations(&document) {
        let documented = statuses(&operation);
        let request = || {
            TestRequest::default()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(&uri(&path))
        };
        let with_token = || request().insert_header(bearer(&token));
        let provocations = [
            ("no token", request()),
            ("a bad token", request().insert_header(bearer("garbage"))),
            (
                "malformed JSON",
                with_token()
                    .insert_header(ContentType::json())
                    .set_payload("{not json"),
            ),
            (
                "a wrong type",
                with_token()
                    .insert_header(ContentType::json())
                    .set_payload("[1, 2]"),
            ),
            (
                "a form where JSON is expected",
                with_token()
                    .insert_header(ContentType::form_url_encoded())
                    .set_payload("a=b"),
            ),
            (
                "a plain-text body",
                with_token()
                    .insert_header(ContentType::plaintext())
                    .set_payload("hello"),
            ),
            (
                "an oversized body",
                with_token()
                    .insert_header(ContentType::json())
                    .set_payload(huge.clone()),
            ),
            (
                "a gzip body",
                with_token()
                    .insert_header(ContentType::json())
                    .insert_header((header::CONTENT_ENCODING, "gzip"))
                    .set_payload(GZIP_EMPTY_OBJECT),
            ),
            // Last: on logout this one succeeds and ends the session.
            ("no body", with_token()),
        ];
        for (what, request) in provocations {
            let reply: Reply = app.send(request).await;
            let status = reply.status.as_u16();
            assert!(
                documented.contains(&status),
                "{method} {path} with {what} answered {status}, which its operation does not document \
                 ({documented:?}): {:?}",
                reply.body
            );
            if status >= 400 {
                let code = reply.json()["code"].as_str().unwrap_or_default().to_owned();
                reply.assert_error(reply.status, &code);
            }
        }
    }
}

#[actix_web::test]
async fn the_reference_page_loads_only_its_own_assets() {
    let app = spawn().await;
    let page = app.send(TestRequest::get().uri("/docs")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header(header::CONTENT_TYPE),
        Some("text/html; charset=utf-8")
    );
    let policy = page
        .header(header::CONTENT_SECURITY_POLICY)
        .expect("a Content-Security-Policy");
    assert!(policy.starts_with("default-src 'self';"), "{policy}");
    let html = std::str::from_utf8(&page.body).unwrap();
    assert!(
        !html.contains("//"),
        "an absolute or protocol-relative URL in {html}"
    );

    // Every src and href is a relative URL of a file this server has.
    let references: Vec<&str> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert!(references.len() >= 5, "{references:?}");
    for reference in references {
        assert!(reference.starts_with("docs/"), "{reference}");
        let asset = app
            .send(TestRequest::get().uri(&format!("/{reference}")))
            .await;
        assert_eq!(asset.status, StatusCode::OK, "{reference}");
        if reference.ends_with(".js") {
            let script = std::str::from_utf8(&asset.body).unwrap();
            assert!(
                !script.contains("https://cdn"),
                "{reference} loads from a CDN"
            );
        }
    }

    // Swagger UI is pointed at this server's document and at no online validator.
    let initializer = app
        .send(TestRequest::get().uri("/docs/swagger-initializer.js"))
        .await;
    let initializer = std::str::from_utf8(&initializer.body).unwrap();
    assert!(
        initializer.contains("\"url\": \"api/v1/openapi.json\""),
        "{initializer}"
    );
    assert!(
        initializer.contains("\"validatorUrl\": \"none\""),
        "{initializer}"
    );
    assert!(!initializer.contains("http"), "{initializer}");

    // Unknown assets and the trailing-slash path are the JSON 404.
    for uri in ["/docs/nope.js", "/docs/"] {
        app.send(TestRequest::get().uri(uri))
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
}
