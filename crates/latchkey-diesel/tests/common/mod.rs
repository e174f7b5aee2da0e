//! Checks beyond the contract suite that need real parallelism (a multi-threaded runtime, many connections).

use std::sync::Arc;

use chrono::TimeDelta;
use latchkey_domain::ports::{RotationOutcome, RotationRequest, SessionRepository, UserRepository};
use latchkey_domain::testkit::fixtures::{new_session, new_user, t0};
use latchkey_domain::TokenHash;

/// Rotates one token from `parallel` tasks at once, for several generations of the token family: each time
/// exactly one rotation wins and the others are told about it as retries; the session survives throughout.
pub async fn racing_rotations_rotate_once<S>(store: Arc<S>, parallel: usize)
where
    S: UserRepository + SessionRepository + 'static,
{
    let user = store
        .insert(&new_user("racer", "racer@example.com", None))
        .await
        .unwrap();
    let session = store
        .create(&new_session("race", &user.id, "gen-0", t0()))
        .await
        .unwrap();
    for generation in 0..10 {
        let request = RotationRequest {
            presented: TokenHash::of(&format!("gen-{generation}")),
            successor: TokenHash::of(&format!("gen-{}", generation + 1)),
            successor_ttl: TimeDelta::days(30),
            now: t0() + TimeDelta::minutes(generation),
            grace: TimeDelta::seconds(10),
        };
        let tasks: Vec<_> = (0..parallel)
            .map(|_| {
                let (store, request) = (Arc::clone(&store), request.clone());
                tokio::spawn(async move { store.rotate(&request).await })
            })
            .collect();
        let (mut rotated, mut retried) = (0, 0);
        for task in tasks {
            match task.await.unwrap().unwrap() {
                RotationOutcome::Rotated { rotated_at, .. } => {
                    assert_eq!(rotated_at, request.now);
                    rotated += 1;
                }
                RotationOutcome::Retried { rotated_at, .. } => {
                    assert_eq!(rotated_at, request.now);
                    retried += 1;
                }
                other => panic!("generation {generation}: unexpected {other:?}"),
            }
        }
        assert_eq!(
            (rotated, retried),
            (1, parallel - 1),
            "generation {generation}"
        );
    }
    assert!(store.is_active(&session.id, &user.id).await.unwrap());
}
