//! Editing one's own profile: each field set, cleared or left alone, every invalid field reported at once, the
//! scope a credential needs, unique usernames, metadata limits and phone numbers, and the event it leaves.

use chrono::TimeDelta;
use latchkey_domain::model::{MetadataError, PhoneNumberError};
use latchkey_domain::service::{CreateCredentialInput, ProfileUpdate};
use latchkey_domain::{
    AccessError, CredentialKind, DisplayNameError, EventKind, EventOutcome, Metadata, Principal,
    Scope, Scopes, SessionPrincipal, UpdateProfileError, UsernameError,
};
use serde_json::{json, Map, Value};

use crate::support::{credentials, TestApp, PASSWORD};

/// An app with Jane registered (username `jane`), and her session.
async fn signed_in() -> (TestApp, SessionPrincipal) {
    let app = TestApp::new();
    let tokens = app
        .register("jane@example.com", Some("jane"))
        .await
        .tokens
        .expect("registration starts a session");
    let session = app.session(&tokens).await;
    (app, session)
}

fn session_principal(session: &SessionPrincipal) -> Principal {
    Principal::from(session.clone())
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().expect("an object").clone()
}

/// A personal token of Jane's with these scopes, authenticated.
async fn token_with(app: &TestApp, session: &SessionPrincipal, scopes: Scopes) -> Principal {
    let created = app
        .svc
        .create_credential(
            session,
            CredentialKind::PersonalToken,
            CreateCredentialInput::new("script")
                .scopes(scopes)
                .expires_at(app.clock_now() + TimeDelta::days(30)),
        )
        .await
        .unwrap();
    app.svc.authenticate(created.secret.expose()).await.unwrap()
}

#[tokio::test]
async fn every_field_is_set_and_returned_and_updated_at_moves() {
    let (app, session) = signed_in().await;
    let principal = session_principal(&session);
    let before = app.svc.current_user(&principal).await.unwrap();
    app.advance(TimeDelta::minutes(3));

    let metadata = object(json!({"experience_years": 5, "skills": ["rust", "sql"]}));
    let user = app
        .svc
        .update_profile(
            &principal,
            ProfileUpdate::new()
                .name(Some("  Jane Doe "))
                .username(Some("JaneDoe"))
                .phone(Some("+1 (415) 555-2671"))
                .metadata(metadata.clone()),
        )
        .await
        .unwrap();
    assert_eq!(user.name.as_ref().map(|n| n.as_str()), Some("Jane Doe"));
    assert_eq!(user.username.as_ref().map(|u| u.as_str()), Some("JaneDoe"));
    assert_eq!(user.phone.as_deref(), Some("+14155552671"), "normalised");
    assert_eq!(user.metadata, metadata);
    assert_eq!(user.updated_at, before.updated_at + TimeDelta::minutes(3));
    assert_eq!(user.created_at, before.created_at);
    assert_eq!(
        (&user.id, &user.email, user.credits, user.is_verified),
        (
            &before.id,
            &before.email,
            before.credits,
            before.is_verified
        ),
        "server-owned fields stay"
    );
    // What was stored is what `me` reads back.
    assert_eq!(app.svc.current_user(&principal).await.unwrap(), user);
    // The new username logs in (case-insensitively), the old one no longer does.
    app.login("janedoe").await;
    assert!(app
        .svc
        .login(credentials("jane", PASSWORD), crate::support::client())
        .await
        .is_err());
}

#[tokio::test]
async fn fields_left_out_stay_and_none_clears() {
    let (app, session) = signed_in().await;
    let principal = session_principal(&session);
    app.svc
        .update_profile(
            &principal,
            ProfileUpdate::new()
                .name(Some("Jane Doe"))
                .phone(Some("+442079460958"))
                .metadata(object(json!({"a": 1}))),
        )
        .await
        .unwrap();

    // Only the phone changes.
    let user = app
        .svc
        .update_profile(&principal, ProfileUpdate::new().phone(None::<String>))
        .await
        .unwrap();
    assert_eq!(user.phone, None);
    assert_eq!(user.name.as_ref().map(|n| n.as_str()), Some("Jane Doe"));
    assert_eq!(user.username.as_ref().map(|u| u.as_str()), Some("jane"));
    assert_eq!(user.metadata, object(json!({"a": 1})));

    let user = app
        .svc
        .update_profile(
            &principal,
            ProfileUpdate::new()
                .name(None::<String>)
                .username(None::<String>)
                .metadata(Map::new()),
        )
        .await
        .unwrap();
    assert_eq!(
        (user.name, user.username, user.phone),
        (None, None, None),
        "cleared"
    );
    assert!(user.metadata.is_empty(), "replaced whole, not merged");
    // The username is free for someone else now.
    app.register("other@example.com", Some("JANE")).await;
}

#[tokio::test]
async fn an_empty_change_moves_updated_at_and_records_nothing() {
    let (app, session) = signed_in().await;
    let principal = session_principal(&session);
    let events_before = app.svc.own_events(&session, 100, None).await.unwrap();
    app.advance(TimeDelta::seconds(10));
    let user = app
        .svc
        .update_profile(&principal, ProfileUpdate::new())
        .await
        .unwrap();
    assert_eq!(user.updated_at, app.clock_now());
    let events_after = app.svc.own_events(&session, 100, None).await.unwrap();
    assert_eq!(events_after.events.len(), events_before.events.len());
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once_and_nothing_is_stored() {
    let (app, session) = signed_in().await;
    let principal = session_principal(&session);
    let before = app.svc.current_user(&principal).await.unwrap();
    let nine_deep = json!({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": [1]}}}}}}}});
    let error = app
        .svc
        .update_profile(
            &principal,
            ProfileUpdate::new()
                .name(Some("x".repeat(101)))
                .username(Some("no spaces please"))
                .phone(Some("0415 555 2671"))
                .metadata(object(nine_deep)),
        )
        .await
        .unwrap_err();
    let UpdateProfileError::Invalid(errors) = error else {
        panic!("expected Invalid, got {error:?}");
    };
    assert_eq!(errors.name, Some(DisplayNameError::TooLong { max: 100 }));
    assert_eq!(errors.username, Some(UsernameError::InvalidCharacter));
    assert_eq!(errors.phone, Some(PhoneNumberError::NotE164));
    assert_eq!(errors.metadata, Some(MetadataError::TooDeep { max: 8 }));
    let text = errors.to_string();
    for field in ["name", "username", "phone", "metadata"] {
        assert!(text.contains(field), "{text}");
    }

    // One bad field among good ones: the good ones are not stored either.
    let error = app
        .svc
        .update_profile(
            &principal,
            ProfileUpdate::new()
                .name(Some("Jane Doe"))
                .username(Some("ab")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, UpdateProfileError::Invalid(e)
            if e.username == Some(UsernameError::Length { min: 3, max: 32 }) && e.name.is_none()),
        "{error:?}"
    );
    for blank in ["", "   "] {
        let error = app
            .svc
            .update_profile(&principal, ProfileUpdate::new().name(Some(blank)))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, UpdateProfileError::Invalid(e) if e.name == Some(DisplayNameError::Blank)),
            "{blank:?}: {error:?}"
        );
    }
    let error = app
        .svc
        .update_profile(&principal, ProfileUpdate::new().name(Some("Jane\nDoe")))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, UpdateProfileError::Invalid(e) if e.name == Some(DisplayNameError::ControlCharacter)),
        "{error:?}"
    );
    assert_eq!(app.svc.current_user(&principal).await.unwrap(), before);
}

#[tokio::test]
async fn names_of_exactly_one_and_a_hundred_characters_are_accepted() {
    let (app, session) = signed_in().await;
    let principal = session_principal(&session);
    for name in ["J".to_owned(), "é".repeat(100)] {
        let user = app
            .svc
            .update_profile(&principal, ProfileUpdate::new().name(Some(name.clone())))
            .await
            .unwrap();
        assert_eq!(user.name.as_ref().map(|n| n.as_str()), Some(&*name));
    }
}

#[tokio::test]
async fn phone_numbers_are_normalised_to_e164_or_refused() {
    let (app, session) = signed_in().await;
    let principal = session_principal(&session);
    for (typed, stored) in [
        ("+14155552671", "+14155552671"),
        (" +1 (415) 555-2671 ", "+14155552671"),
        ("+44.20.7946.0958", "+442079460958"),
    ] {
        let user = app
            .svc
            .update_profile(&principal, ProfileUpdate::new().phone(Some(typed)))
            .await
            .unwrap();
        assert_eq!(user.phone.as_deref(), Some(stored), "{typed}");
    }
    for refused in [
        "14155552671",
        "+0415555267",
        "+1415555",
        "+1234567890123456",
        "+1 415 CALL ME",
    ] {
        let error = app
            .svc
            .update_profile(&principal, ProfileUpdate::new().phone(Some(refused)))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, UpdateProfileError::Invalid(e) if e.phone == Some(PhoneNumberError::NotE164)),
            "{refused}: {error:?}"
        );
    }
    assert_eq!(
        app.svc
            .current_user(&principal)
            .await
            .unwrap()
            .phone
            .as_deref(),
        Some("+442079460958"),
        "the last accepted one stays"
    );
}

#[tokio::test]
async fn metadata_is_limited_to_16_kib_and_8_levels() {
    let (app, session) = signed_in().await;
    let principal = session_principal(&session);
    // {"k":"…"} is 8 bytes around the string.
    let fits = object(json!({ "k": "x".repeat(Metadata::MAX_BYTES - 8) }));
    let user = app
        .svc
        .update_profile(&principal, ProfileUpdate::new().metadata(fits.clone()))
        .await
        .unwrap();
    assert_eq!(user.metadata, fits);
    let over = object(json!({ "k": "x".repeat(Metadata::MAX_BYTES - 7) }));
    let error = app
        .svc
        .update_profile(&principal, ProfileUpdate::new().metadata(over))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, UpdateProfileError::Invalid(e)
            if e.metadata == Some(MetadataError::TooLarge { max: 16 * 1024 })),
        "{error:?}"
    );

    let eight = object(json!({"a": {"b": {"c": {"d": {"e": {"f": {"g": [1]}}}}}}}));
    let user = app
        .svc
        .update_profile(&principal, ProfileUpdate::new().metadata(eight.clone()))
        .await
        .unwrap();
    assert_eq!(user.metadata, eight);
    let nine = object(json!({"a": {"b": {"c": {"d": {"e": {"f": {"g": [[1]]}}}}}}}));
    let error = app
        .svc
        .update_profile(&principal, ProfileUpdate::new().metadata(nine))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, UpdateProfileError::Invalid(e)
            if e.metadata == Some(MetadataError::TooDeep { max: 8 })),
        "{error:?}"
    );
    assert_eq!(
        app.svc.current_user(&principal).await.unwrap().metadata,
        eight
    );
}

#[tokio::test]
async fn a_username_another_account_holds_is_refused_in_any_case() {
    let (app, session) = signed_in().await;
    app.register("joe@example.com", Some("Joe_1")).await;
    let principal = session_principal(&session);
    let error = app
        .svc
        .update_profile(
            &principal,
            ProfileUpdate::new()
                .username(Some("joe_1"))
                .name(Some("Jane")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, UpdateProfileError::UsernameTaken),
        "{error:?}"
    );
    let user = app.svc.current_user(&principal).await.unwrap();
    assert_eq!(user.username.as_ref().map(|u| u.as_str()), Some("jane"));
    assert_eq!(user.name, None, "nothing of the refused change was stored");
    // Her own username in another case is hers to respell.
    let user = app
        .svc
        .update_profile(&principal, ProfileUpdate::new().username(Some("JANE")))
        .await
        .unwrap();
    assert_eq!(user.username.as_ref().map(|u| u.as_str()), Some("JANE"));
}

#[tokio::test]
async fn a_credential_needs_profile_write() {
    let (app, session) = signed_in().await;
    let read_only = token_with(&app, &session, Scopes::empty().with(Scope::ProfileRead)).await;
    let error = app
        .svc
        .update_profile(&read_only, ProfileUpdate::new().name(Some("Mallory")))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            UpdateProfileError::Forbidden(AccessError::InsufficientScope {
                required: Scope::ProfileWrite
            })
        ),
        "{error:?}"
    );
    // The scope is checked before the fields: an invalid change gets the same answer.
    let error = app
        .svc
        .update_profile(&read_only, ProfileUpdate::new().phone(Some("nope")))
        .await
        .unwrap_err();
    assert!(
        matches!(error, UpdateProfileError::Forbidden(_)),
        "{error:?}"
    );
    assert_eq!(
        app.svc.current_user(&read_only).await.unwrap().name,
        None,
        "nothing changed"
    );

    let writer = token_with(&app, &session, Scopes::empty().with(Scope::ProfileWrite)).await;
    let user = app
        .svc
        .update_profile(&writer, ProfileUpdate::new().name(Some("Jane Doe")))
        .await
        .unwrap();
    assert_eq!(user.name.as_ref().map(|n| n.as_str()), Some("Jane Doe"));

    // An API key with the scope may too.
    let key = app
        .svc
        .create_credential(
            &session,
            CredentialKind::ApiKey,
            CreateCredentialInput::new("backend").scopes(Scopes::empty().with(Scope::ProfileWrite)),
        )
        .await
        .unwrap();
    let (key, _) = app
        .svc
        .authenticate_api_key(key.secret.expose())
        .await
        .unwrap();
    let user = app
        .svc
        .update_profile(&key, ProfileUpdate::new().username(Some("jane_d")))
        .await
        .unwrap();
    assert_eq!(user.username.as_ref().map(|u| u.as_str()), Some("jane_d"));
}

#[tokio::test]
async fn a_profile_change_is_recorded_with_the_fields_it_changed() {
    let (app, session) = signed_in().await;
    let principal = session_principal(&session);
    app.svc
        .update_profile(
            &principal,
            ProfileUpdate::new()
                .phone(Some("+14155552671"))
                .name(Some("Jane")),
        )
        .await
        .unwrap();
    // A refused change is not recorded as a change.
    let _ = app
        .svc
        .update_profile(&principal, ProfileUpdate::new().phone(Some("bad")))
        .await
        .unwrap_err();
    let page = app.svc.own_events(&session, 1, None).await.unwrap();
    let event = &page.events[0];
    assert_eq!(
        (event.kind, event.outcome),
        (EventKind::ProfileUpdated, EventOutcome::Success)
    );
    assert_eq!(event.user_id.as_ref(), Some(session.user_id()));
    assert_eq!(event.subject.as_deref(), Some("name,phone"));
    let all = app.svc.own_events(&session, 100, None).await.unwrap();
    assert_eq!(
        all.events
            .iter()
            .filter(|e| e.kind == EventKind::ProfileUpdated)
            .count(),
        1
    );
}
