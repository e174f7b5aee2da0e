//! Ports: the traits through which the domain reaches the outside world. Adapters implement them.
//!
//! Every repository method is one atomic step of a use case, so the domain never holds a transaction.

mod challenges;
mod clock;
mod credentials;
mod events;
mod hasher;
mod health;
mod ledger;
mod limiter;
mod outbox;
mod secrets;
mod sessions;
mod tokens;
mod users;

pub use challenges::{
    ChallengeRepository, CodeCheck, EmailChangeCheck, IssueOutcome, NewEmailChange, NewReset,
    NewVerification,
};
pub use clock::{Clock, SystemClock};
pub use credentials::{
    CredentialMatch, CredentialRepository, CredentialRotation, InsertCredentialError,
    RotateCredentialError,
};
pub use events::{EventLog, EventQuery};
pub use hasher::{HashPlace, PasswordHasher};
pub use health::HealthCheck;
pub use ledger::{
    ChargeOutcome, ChargeRequest, CreditLedger, GrantOutcome, GrantRequest, RefundOutcome,
    RefundRequest,
};
pub use limiter::{Admission, LimitKey, RateLimiter};
pub use outbox::{MailError, Mailer, Outbox};
pub use secrets::SecretGenerator;
pub use sessions::{
    CreateSessionError, CreatedLogin, NewLogin, RotationOutcome, RotationRequest, SessionRepository,
};
pub use tokens::{AccessClaims, AccessTokenCodec, DecodeError};
pub use users::{InsertUserError, UpdateProfileError, UserLookup, UserQuery, UserRepository};
