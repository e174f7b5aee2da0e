//! The refresh-token rotation rules, shared by both backends.
//!
//! Each backend reads the presented token's state under a lock that makes the decision stick (row locks on
//! PostgreSQL, the write lock of `BEGIN IMMEDIATE` on SQLite), asks [`decide`] what to do, performs the writes the
//! [`Decision`] calls for in the same transaction, and turns it into the port's outcome with
//! [`Decision::into_outcome`]. The rules are those of the in-memory store and of
//! [`SessionRepository::rotate`](latchkey_domain::ports::SessionRepository::rotate).

use chrono::{DateTime, Utc};
use latchkey_domain::ports::{RotationOutcome, RotationRequest};
use latchkey_domain::{PortError, SessionId, TokenHash, UserId};

use crate::error::corrupt;

/// What the store holds about a presented token and its session, as read inside the rotation's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PresentedState {
    /// The token's session.
    pub(crate) session_id: String,
    /// That session's user.
    pub(crate) user_id: String,
    /// Whether that session is revoked.
    pub(crate) session_revoked: bool,
    /// When the token expires.
    pub(crate) expires_at: DateTime<Utc>,
    /// When it was spent, if it was.
    pub(crate) used_at: Option<DateTime<Utc>>,
    /// The successor it was spent for, if it was.
    pub(crate) successor_hash: Option<Vec<u8>>,
    /// Whether the token named by the request's successor hash exists and is unused. Only consulted when the
    /// presented token is spent, so backends read (and lock) that row only then, and pass `false` otherwise.
    pub(crate) requested_successor_unused: bool,
}

/// What a rotation does; each variant names the writes the backend performs before committing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Spend the presented token (`used_at = now`, `successor_hash = successor`), store the successor expiring at
    /// `now + successor_ttl`, and set the session's `last_used_at` to now and `expires_at` to the successor's.
    Rotate { session_id: String, user_id: String },
    /// A retry within the grace period: write nothing, answer with the original rotation's instant.
    Retry {
        session_id: String,
        user_id: String,
        rotated_at: DateTime<Utc>,
    },
    /// A replayed token: revoke its session (if it is not already).
    RevokeSession { session_id: String },
    /// Unknown, expired, or of a revoked session: write nothing.
    Reject,
}

/// Decides a rotation from the presented token's state (`None` when no such token is stored).
pub(crate) fn decide(token: Option<PresentedState>, request: &RotationRequest) -> Decision {
    let Some(token) = token else {
        return Decision::Reject;
    };
    if token.session_revoked || token.expires_at <= request.now {
        return Decision::Reject;
    }
    let Some(used_at) = token.used_at else {
        return Decision::Rotate {
            session_id: token.session_id,
            user_id: token.user_id,
        };
    };
    // Compared as `TokenHash`es, whose equality is constant-time.
    let spent_for_this_successor = token
        .successor_hash
        .as_deref()
        .and_then(TokenHash::from_slice)
        .is_some_and(|stored| stored == request.successor);
    if spent_for_this_successor
        && token.requested_successor_unused
        && request.now - used_at <= request.grace
    {
        return Decision::Retry {
            session_id: token.session_id,
            user_id: token.user_id,
            rotated_at: used_at,
        };
    }
    Decision::RevokeSession {
        session_id: token.session_id,
    }
}

impl Decision {
    /// The port's outcome for a decision whose writes have been committed.
    ///
    /// # Errors
    /// A corrupt-data [`PortError`] when a stored id does not parse.
    pub(crate) fn into_outcome(
        self,
        request: &RotationRequest,
    ) -> Result<RotationOutcome, PortError> {
        Ok(match self {
            Self::Rotate {
                session_id,
                user_id,
            } => {
                let (session_id, user_id) = session_ids(&session_id, &user_id)?;
                RotationOutcome::Rotated {
                    session_id,
                    user_id,
                    rotated_at: request.now,
                }
            }
            Self::Retry {
                session_id,
                user_id,
                rotated_at,
            } => {
                let (session_id, user_id) = session_ids(&session_id, &user_id)?;
                RotationOutcome::Retried {
                    session_id,
                    user_id,
                    rotated_at,
                }
            }
            Self::RevokeSession { .. } => RotationOutcome::ReuseDetected,
            Self::Reject => RotationOutcome::Rejected,
        })
    }
}

/// Parses the ids of a token's session for a rotation outcome.
fn session_ids(session_id: &str, user_id: &str) -> Result<(SessionId, UserId), PortError> {
    const CONTEXT: &str = "rotate refresh token";
    Ok((
        SessionId::parse(session_id).ok_or_else(|| corrupt(CONTEXT, "malformed session id"))?,
        UserId::parse(user_id).ok_or_else(|| corrupt(CONTEXT, "malformed user id"))?,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::TimeDelta;
    use latchkey_domain::TokenHash;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn request() -> RotationRequest {
        RotationRequest {
            presented: TokenHash::of("presented"),
            successor: TokenHash::of("successor"),
            successor_ttl: TimeDelta::days(30),
            now: now(),
            grace: TimeDelta::seconds(10),
        }
    }

    /// A live, unspent token of a live session.
    fn live() -> PresentedState {
        PresentedState {
            session_id: "ses_abc".to_owned(),
            user_id: "usr_abc".to_owned(),
            session_revoked: false,
            expires_at: now() + TimeDelta::days(1),
            used_at: None,
            successor_hash: None,
            requested_successor_unused: false,
        }
    }

    /// The token spent `ago` for the request's successor, which is still unused.
    fn spent(ago: TimeDelta) -> PresentedState {
        PresentedState {
            used_at: Some(now() - ago),
            successor_hash: Some(TokenHash::of("successor").as_bytes().to_vec()),
            requested_successor_unused: true,
            ..live()
        }
    }

    fn revoke() -> Decision {
        Decision::RevokeSession {
            session_id: "ses_abc".to_owned(),
        }
    }

    #[test]
    fn an_unknown_token_is_rejected() {
        assert_eq!(decide(None, &request()), Decision::Reject);
    }

    #[test]
    fn a_token_of_a_revoked_session_is_rejected_spent_or_not() {
        let revoked = |token| PresentedState {
            session_revoked: true,
            ..token
        };
        assert_eq!(decide(Some(revoked(live())), &request()), Decision::Reject);
        let retry = revoked(spent(TimeDelta::seconds(1)));
        assert_eq!(decide(Some(retry), &request()), Decision::Reject);
    }

    #[test]
    fn an_expired_token_is_rejected_from_its_expiry_on() {
        let expiring = |at| PresentedState {
            expires_at: at,
            ..live()
        };
        assert_eq!(decide(Some(expiring(now())), &request()), Decision::Reject);
        let expired = expiring(now() - TimeDelta::seconds(1));
        assert_eq!(decide(Some(expired), &request()), Decision::Reject);
        let spent_and_expired = PresentedState {
            expires_at: now(),
            ..spent(TimeDelta::seconds(1))
        };
        assert_eq!(
            decide(Some(spent_and_expired), &request()),
            Decision::Reject
        );
    }

    #[test]
    fn a_live_unspent_token_rotates() {
        let almost_expired = PresentedState {
            expires_at: now() + TimeDelta::microseconds(1),
            ..live()
        };
        for token in [live(), almost_expired] {
            assert_eq!(
                decide(Some(token), &request()),
                Decision::Rotate {
                    session_id: "ses_abc".to_owned(),
                    user_id: "usr_abc".to_owned(),
                }
            );
        }
    }

    #[test]
    fn a_retry_within_grace_for_the_same_unused_successor_is_answered_again() {
        let grace = request().grace;
        for ago in [TimeDelta::zero(), TimeDelta::seconds(3), grace] {
            assert_eq!(
                decide(Some(spent(ago)), &request()),
                Decision::Retry {
                    session_id: "ses_abc".to_owned(),
                    user_id: "usr_abc".to_owned(),
                    rotated_at: now() - ago,
                },
                "{ago}"
            );
        }
    }

    #[test]
    fn a_retry_after_the_grace_period_revokes_the_session() {
        let late = spent(request().grace + TimeDelta::microseconds(1));
        assert_eq!(decide(Some(late), &request()), revoke());
    }

    #[test]
    fn a_spent_token_whose_successor_was_used_revokes_the_session() {
        let successor_used = PresentedState {
            requested_successor_unused: false,
            ..spent(TimeDelta::seconds(1))
        };
        assert_eq!(decide(Some(successor_used), &request()), revoke());
    }

    #[test]
    fn a_spent_token_presented_for_another_successor_revokes_the_session() {
        let other_successor = PresentedState {
            successor_hash: Some(TokenHash::of("another").as_bytes().to_vec()),
            ..spent(TimeDelta::seconds(1))
        };
        assert_eq!(decide(Some(other_successor), &request()), revoke());
        let no_successor = PresentedState {
            successor_hash: None,
            ..spent(TimeDelta::seconds(1))
        };
        assert_eq!(decide(Some(no_successor), &request()), revoke());
    }

    #[test]
    fn outcomes_carry_the_parsed_ids_and_the_right_instant() {
        let request = request();
        let (session_id, user_id) = (SessionId::from_random("abc"), UserId::from_random("abc"));
        let rotated = Decision::Rotate {
            session_id: "ses_abc".to_owned(),
            user_id: "usr_abc".to_owned(),
        };
        assert_eq!(
            rotated.into_outcome(&request).unwrap(),
            RotationOutcome::Rotated {
                session_id: session_id.clone(),
                user_id: user_id.clone(),
                rotated_at: request.now,
            }
        );
        let earlier = request.now - TimeDelta::seconds(2);
        let retried = Decision::Retry {
            session_id: "ses_abc".to_owned(),
            user_id: "usr_abc".to_owned(),
            rotated_at: earlier,
        };
        assert_eq!(
            retried.into_outcome(&request).unwrap(),
            RotationOutcome::Retried {
                session_id,
                user_id,
                rotated_at: earlier,
            }
        );
        assert_eq!(
            revoke().into_outcome(&request).unwrap(),
            RotationOutcome::ReuseDetected
        );
        assert_eq!(
            Decision::Reject.into_outcome(&request).unwrap(),
            RotationOutcome::Rejected
        );
    }

    #[test]
    fn a_malformed_stored_id_is_reported_as_corrupt() {
        let malformed = Decision::Rotate {
            session_id: "usr_abc".to_owned(),
            user_id: "usr_abc".to_owned(),
        };
        let error = malformed.into_outcome(&request()).unwrap_err();
        assert_eq!(error.context(), "rotate refresh token");
        let malformed = Decision::Retry {
            session_id: "ses_abc".to_owned(),
            user_id: "ses_abc".to_owned(),
            rotated_at: now(),
        };
        assert!(malformed.into_outcome(&request()).is_err());
    }
}
