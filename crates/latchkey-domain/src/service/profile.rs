//! Editing one's own profile: name, username, phone number and metadata.

use std::fmt;

use serde_json::{Map, Value};

use super::{AuthError, Latchkey};
use crate::access::{AccessError, Principal, Scope};
use crate::error::PortError;
use crate::model::{
    DisplayName, DisplayNameError, EventKind, EventOutcome, Metadata, MetadataError, PhoneNumber,
    PhoneNumberError, ProfileChanges, User, Username, UsernameError,
};

/// A profile change as the client sent it: each field left out stays as it is, `None` clears it, a value sets it.
///
/// ```
/// # use latchkey_domain::service::ProfileUpdate;
/// let update = ProfileUpdate::new().name(Some("Jane Doe")).phone(None::<String>);
/// # let _ = update;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileUpdate {
    name: Option<Option<String>>,
    username: Option<Option<String>>,
    phone: Option<Option<String>>,
    metadata: Option<Map<String, Value>>,
}

impl ProfileUpdate {
    /// A change that changes nothing (but still moves `updated_at`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (`Some`) or clears (`None`) the display name.
    pub fn name(mut self, name: Option<impl Into<String>>) -> Self {
        self.name = Some(name.map(Into::into));
        self
    }

    /// Sets (`Some`) or clears (`None`) the username.
    pub fn username(mut self, username: Option<impl Into<String>>) -> Self {
        self.username = Some(username.map(Into::into));
        self
    }

    /// Sets (`Some`) or clears (`None`) the phone number (E.164).
    pub fn phone(mut self, phone: Option<impl Into<String>>) -> Self {
        self.phone = Some(phone.map(Into::into));
        self
    }

    /// Replaces the metadata object whole.
    pub fn metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = Some(metadata);
        self
    }
}

/// Every rejected field of a profile change, so a client can fix them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProfileErrors {
    /// Why the name was refused, if it was.
    pub name: Option<DisplayNameError>,
    /// Why the username was refused, if it was.
    pub username: Option<UsernameError>,
    /// Why the phone number was refused, if it was.
    pub phone: Option<PhoneNumberError>,
    /// Why the metadata was refused, if it was.
    pub metadata: Option<MetadataError>,
}

impl fmt::Display for ProfileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: [(&str, Option<&dyn fmt::Display>); 4] = [
            ("name", self.name.as_ref().map(|e| e as &dyn fmt::Display)),
            (
                "username",
                self.username.as_ref().map(|e| e as &dyn fmt::Display),
            ),
            ("phone", self.phone.as_ref().map(|e| e as &dyn fmt::Display)),
            (
                "metadata",
                self.metadata.as_ref().map(|e| e as &dyn fmt::Display),
            ),
        ];
        let mut separator = "";
        for (field, error) in fields.into_iter().filter_map(|(f, e)| Some((f, e?))) {
            write!(f, "{separator}{field} {error}")?;
            separator = "; ";
        }
        Ok(())
    }
}

impl std::error::Error for ProfileErrors {}

/// Why a profile change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateProfileError {
    /// One or more fields are invalid; nothing was stored.
    #[error("invalid profile: {0}")]
    Invalid(ProfileErrors),
    /// Another account has the username.
    #[error("username already taken")]
    UsernameTaken,
    /// The credential lacks `profile:write`.
    #[error(transparent)]
    Forbidden(#[from] AccessError),
    /// The account no longer exists.
    #[error("could not validate credentials")]
    AccountGone,
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

impl From<AuthError> for UpdateProfileError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Forbidden(denied) => Self::Forbidden(denied),
            AuthError::Unavailable(source) => Self::Unavailable(source),
            AuthError::TokenExpired | AuthError::InvalidToken => Self::AccountGone,
        }
    }
}

impl ProfileUpdate {
    /// The change with every field parsed, or every field's error: what [`Latchkey::update_profile`] checks first,
    /// for callers that report its errors together with their own (an HTTP layer refusing unknown fields).
    ///
    /// # Errors
    /// [`ProfileErrors`] with every rejected field.
    pub fn check(&self) -> Result<ProfileChanges, ProfileErrors> {
        self.clone().parse()
    }

    /// As [`ProfileUpdate::check`], consuming the update.
    fn parse(self) -> Result<ProfileChanges, ProfileErrors> {
        let mut errors = ProfileErrors::default();
        let name = parse_optional(self.name, DisplayName::parse).map_err(|e| errors.name = Some(e));
        let username =
            parse_optional(self.username, Username::parse).map_err(|e| errors.username = Some(e));
        let phone =
            parse_optional(self.phone, PhoneNumber::parse).map_err(|e| errors.phone = Some(e));
        let metadata = self
            .metadata
            .map(Metadata::parse)
            .transpose()
            .map_err(|e| errors.metadata = Some(e));
        match (name, username, phone, metadata) {
            (Ok(name), Ok(username), Ok(phone), Ok(metadata)) => Ok(ProfileChanges {
                name,
                username,
                phone,
                metadata,
            }),
            _ => Err(errors),
        }
    }
}

/// Parses the value of a field that may be left out (`None`), cleared (`Some(None)`) or set.
fn parse_optional<T, E>(
    field: Option<Option<String>>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<Option<T>>, E> {
    match field {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(raw)) => parse(&raw).map(|value| Some(Some(value))),
    }
}

impl Latchkey {
    /// Changes the caller's profile; needs `profile:write`. Returns the account as changed.
    ///
    /// # Errors
    /// [`UpdateProfileError::Forbidden`] without the scope (checked first), [`UpdateProfileError::Invalid`] with
    /// every rejected field, [`UpdateProfileError::UsernameTaken`], [`UpdateProfileError::AccountGone`] or
    /// [`UpdateProfileError::Unavailable`].
    pub async fn update_profile(
        &self,
        principal: &Principal,
        update: ProfileUpdate,
    ) -> Result<User, UpdateProfileError> {
        principal.require(Scope::ProfileWrite)?;
        let changes = update.parse().map_err(UpdateProfileError::Invalid)?;
        let user = self
            .ports
            .users
            .update_profile(&principal.user_id, &changes, self.now())
            .await
            .map_err(|error| match error {
                crate::ports::UpdateProfileError::UsernameTaken => {
                    UpdateProfileError::UsernameTaken
                }
                crate::ports::UpdateProfileError::Unavailable(source) => source.into(),
            })?
            .ok_or(UpdateProfileError::AccountGone)?;
        if !changes.is_empty() {
            self.record(
                EventKind::ProfileUpdated,
                EventOutcome::Success,
                Some(&user.id),
                Some(&changes.field_names().join(",")),
                &principal.client,
            )
            .await;
        }
        Ok(user)
    }
}
