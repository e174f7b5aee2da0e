//! The refresh-token rotation rules, as one pure function every [`SessionRepository`] adapter calls.
//!
//! An adapter reads the presented token's state under whatever makes the decision stick (row locks on PostgreSQL,
//! the write lock of `BEGIN IMMEDIATE` on SQLite, a mutex in memory), asks [`decide`] what to do, performs the
//! writes the [`Decision`] names in the same transaction, and answers [`Decision::into_outcome`]. No adapter restates
//! the rules, so the three stores cannot drift apart.
//!
//! [`SessionRepository`]: crate::ports::SessionRepository

use chrono::{DateTime, Utc};

use crate::model::{SessionId, UserId};
use crate::ports::{RotationOutcome, RotationRequest};
use crate::secret::TokenHash;

/// What the store holds about a presented refresh token and its session, read inside the rotation's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedToken {
    /// The token's session.
    pub session_id: SessionId,
    /// That session's user.
    pub user_id: UserId,
    /// Whether that session is revoked.
    pub session_revoked: bool,
    /// That session's absolute end ([`crate::model::Session::ends_at`]).
    pub session_ends_at: DateTime<Utc>,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
    /// When it was spent, if it was.
    pub used_at: Option<DateTime<Utc>>,
    /// The successor it was spent for, if it was.
    pub successor: Option<TokenHash>,
    /// Whether the token named by the request's successor hash exists and is unused. Only consulted when the
    /// presented token is spent, so stores read (and lock) that row only then, and pass `false` otherwise.
    pub requested_successor_unused: bool,
}

/// What a rotation does; each variant names the writes the store performs before committing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Spend the presented token (`used_at = now`, successor recorded), store the successor expiring at
    /// `expires_at`, and set the session's `last_used_at` to now and `expires_at` to the successor's.
    Rotate {
        /// The token's session.
        session_id: SessionId,
        /// Its user.
        user_id: UserId,
        /// When the successor expires: `now + successor_ttl`, but never after the session's absolute end, so
        /// rotation cannot extend a session past it.
        expires_at: DateTime<Utc>,
        /// The session's absolute end.
        session_ends_at: DateTime<Utc>,
    },
    /// A retry within the grace period: write nothing, answer with the original rotation's instant.
    Retry {
        /// The token's session.
        session_id: SessionId,
        /// Its user.
        user_id: UserId,
        /// When the token was spent.
        rotated_at: DateTime<Utc>,
        /// The session's absolute end.
        session_ends_at: DateTime<Utc>,
    },
    /// A replayed token: revoke its session (if it is not already).
    RevokeSession {
        /// The session to revoke.
        session_id: SessionId,
        /// Its user.
        user_id: UserId,
    },
    /// Unknown, expired, or of a revoked session: write nothing.
    Reject,
}

/// Decides a rotation from the presented token's state (`None` when no such token is stored).
pub fn decide(token: Option<PresentedToken>, request: &RotationRequest) -> Decision {
    let Some(token) = token else {
        return Decision::Reject;
    };
    if token.session_revoked
        || token.expires_at <= request.now
        || token.session_ends_at <= request.now
    {
        return Decision::Reject;
    }
    let Some(used_at) = token.used_at else {
        return Decision::Rotate {
            session_id: token.session_id,
            user_id: token.user_id,
            expires_at: (request.now + request.successor_ttl).min(token.session_ends_at),
            session_ends_at: token.session_ends_at,
        };
    };
    // `TokenHash` equality is constant-time.
    let spent_for_this_successor = token.successor == Some(request.successor);
    if spent_for_this_successor
        && token.requested_successor_unused
        && request.now - used_at <= request.grace
    {
        return Decision::Retry {
            session_id: token.session_id,
            user_id: token.user_id,
            rotated_at: used_at,
            session_ends_at: token.session_ends_at,
        };
    }
    Decision::RevokeSession {
        session_id: token.session_id,
        user_id: token.user_id,
    }
}

impl Decision {
    /// The port's outcome for a decision whose writes have been committed.
    pub fn into_outcome(self, request: &RotationRequest) -> RotationOutcome {
        match self {
            Self::Rotate {
                session_id,
                user_id,
                session_ends_at,
                ..
            } => RotationOutcome::Rotated {
                session_id,
                user_id,
                rotated_at: request.now,
                session_ends_at,
            },
            Self::Retry {
                session_id,
                user_id,
                rotated_at,
                session_ends_at,
            } => RotationOutcome::Retried {
                session_id,
                user_id,
                rotated_at,
                session_ends_at,
            },
            Self::RevokeSession {
                session_id,
                user_id,
            } => RotationOutcome::ReuseDetected {
                session_id,
                user_id,
            },
            Self::Reject => RotationOutcome::Rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::TimeDelta;

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

    fn session() -> SessionId {
        SessionId::from_random("abc")
    }

    fn user() -> UserId {
        UserId::from_random("abc")
    }

    /// A live, unspent token of a live session.
    fn live() -> PresentedToken {
        PresentedToken {
            session_id: session(),
            user_id: user(),
            session_revoked: false,
            session_ends_at: now() + TimeDelta::days(90),
            expires_at: now() + TimeDelta::days(1),
            used_at: None,
            successor: None,
            requested_successor_unused: false,
        }
    }

    /// The token spent `ago` for the request's successor, which is still unused.
    fn spent(ago: TimeDelta) -> PresentedToken {
        PresentedToken {
            used_at: Some(now() - ago),
            successor: Some(TokenHash::of("successor")),
            requested_successor_unused: true,
            ..live()
        }
    }

    fn revoke() -> Decision {
        Decision::RevokeSession {
            session_id: session(),
            user_id: user(),
        }
    }

    #[test]
    fn an_unknown_token_is_rejected() {
        assert_eq!(decide(None, &request()), Decision::Reject);
    }

    #[test]
    fn a_token_of_a_revoked_session_is_rejected_spent_or_not() {
        let revoked = |token| PresentedToken {
            session_revoked: true,
            ..token
        };
        assert_eq!(decide(Some(revoked(live())), &request()), Decision::Reject);
        let retry = revoked(spent(TimeDelta::seconds(1)));
        assert_eq!(decide(Some(retry), &request()), Decision::Reject);
    }

    #[test]
    fn an_expired_token_is_rejected_from_its_expiry_on() {
        let expiring = |at| PresentedToken {
            expires_at: at,
            ..live()
        };
        assert_eq!(decide(Some(expiring(now())), &request()), Decision::Reject);
        let expired = expiring(now() - TimeDelta::seconds(1));
        assert_eq!(decide(Some(expired), &request()), Decision::Reject);
        let spent_and_expired = PresentedToken {
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
        let almost_expired = PresentedToken {
            expires_at: now() + TimeDelta::microseconds(1),
            ..live()
        };
        for token in [live(), almost_expired] {
            assert_eq!(
                decide(Some(token), &request()),
                Decision::Rotate {
                    session_id: session(),
                    user_id: user(),
                    expires_at: now() + TimeDelta::days(30),
                    session_ends_at: now() + TimeDelta::days(90),
                }
            );
        }
    }

    #[test]
    fn a_rotation_never_extends_the_session_past_its_end() {
        let ending = PresentedToken {
            session_ends_at: now() + TimeDelta::days(2),
            ..live()
        };
        assert_eq!(
            decide(Some(ending), &request()),
            Decision::Rotate {
                session_id: session(),
                user_id: user(),
                expires_at: now() + TimeDelta::days(2),
                session_ends_at: now() + TimeDelta::days(2),
            }
        );
        for ended_at in [now(), now() - TimeDelta::seconds(1)] {
            let ended = PresentedToken {
                session_ends_at: ended_at,
                ..live()
            };
            assert_eq!(decide(Some(ended), &request()), Decision::Reject);
        }
    }

    #[test]
    fn a_retry_within_grace_for_the_same_unused_successor_is_answered_again() {
        let grace = request().grace;
        for ago in [TimeDelta::zero(), TimeDelta::seconds(3), grace] {
            assert_eq!(
                decide(Some(spent(ago)), &request()),
                Decision::Retry {
                    session_id: session(),
                    user_id: user(),
                    rotated_at: now() - ago,
                    session_ends_at: now() + TimeDelta::days(90),
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
        let successor_used = PresentedToken {
            requested_successor_unused: false,
            ..spent(TimeDelta::seconds(1))
        };
        assert_eq!(decide(Some(successor_used), &request()), revoke());
    }

    #[test]
    fn a_spent_token_presented_for_another_successor_revokes_the_session() {
        let other_successor = PresentedToken {
            successor: Some(TokenHash::of("another")),
            ..spent(TimeDelta::seconds(1))
        };
        assert_eq!(decide(Some(other_successor), &request()), revoke());
        let no_successor = PresentedToken {
            successor: None,
            ..spent(TimeDelta::seconds(1))
        };
        assert_eq!(decide(Some(no_successor), &request()), revoke());
    }

    #[test]
    fn outcomes_carry_the_ids_and_the_right_instant() {
        let request = request();
        let rotated = Decision::Rotate {
            session_id: session(),
            user_id: user(),
            expires_at: request.now + TimeDelta::days(30),
            session_ends_at: request.now + TimeDelta::days(90),
        };
        assert_eq!(
            rotated.into_outcome(&request),
            RotationOutcome::Rotated {
                session_id: session(),
                user_id: user(),
                rotated_at: request.now,
                session_ends_at: request.now + TimeDelta::days(90),
            }
        );
        let earlier = request.now - TimeDelta::seconds(2);
        let retried = Decision::Retry {
            session_id: session(),
            user_id: user(),
            rotated_at: earlier,
            session_ends_at: request.now + TimeDelta::days(90),
        };
        assert_eq!(
            retried.into_outcome(&request),
            RotationOutcome::Retried {
                session_id: session(),
                user_id: user(),
                rotated_at: earlier,
                session_ends_at: request.now + TimeDelta::days(90),
            }
        );
        assert_eq!(
            revoke().into_outcome(&request),
            RotationOutcome::ReuseDetected {
                session_id: session(),
                user_id: user(),
            }
        );
        assert_eq!(
            Decision::Reject.into_outcome(&request),
            RotationOutcome::Rejected
        );
    }
}
