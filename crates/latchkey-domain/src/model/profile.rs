//! The parts of an account its owner edits: phone number, metadata, and a parsed change to them.

use serde_json::{Map, Value};

use super::{DisplayName, Username};

/// Why a phone number was refused. `Display` is a phrase to follow the field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneNumberError {
    /// Not `+` and a country code followed by the number: 8 to 15 digits in all (E.164).
    #[error("must be an international number in E.164 form, like +14155552671")]
    NotE164,
}

/// A phone number in E.164 form: `+`, then 8 to 15 digits, the first not 0.
///
/// Spaces, dots, hyphens and parentheses that people type around and between digit groups are dropped, so
/// `+1 (415) 555-2671` is stored as `+14155552671`; nothing else is guessed (no national prefixes, no letters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Fewest digits accepted: the shortest numbers in use, a country code and a six-digit subscriber number.
    pub const MIN_DIGITS: usize = 8;
    /// Most digits E.164 allows.
    pub const MAX_DIGITS: usize = 15;

    /// Parses a phone number.
    ///
    /// # Errors
    /// [`PhoneNumberError::NotE164`] for anything but `+` and 8 to 15 digits (after dropping separators).
    pub fn parse(raw: &str) -> Result<Self, PhoneNumberError> {
        // Only these separators are dropped, spaces around the number included; other white space is refused, so
        // the rule is exactly the pattern the API documents.
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').ok_or(PhoneNumberError::NotE164)?;
        let well_formed = (Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if well_formed {
            Ok(Self(compact))
        } else {
            Err(PhoneNumberError::NotE164)
        }
    }

    /// The number, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a metadata object was refused. `Display` is a phrase to follow the field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// Serialised, longer than `max` bytes.
    #[error("must be at most {max} bytes as JSON")]
    TooLarge {
        /// The most bytes accepted.
        max: usize,
    },
    /// Nested deeper than `max` levels.
    #[error("must be nested at most {max} levels deep")]
    TooDeep {
        /// The deepest nesting accepted (the object itself is level 1).
        max: usize,
    },
}

/// The client application's JSON object on an account, checked for size and depth: it is stored and returned on
/// every `/auth/me`, so it must stay small, and deep nesting costs every parser that reads it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata(Map<String, Value>);

impl Metadata {
    /// Most bytes of the object serialised as compact JSON.
    pub const MAX_BYTES: usize = 16 * 1024;
    /// Deepest nesting; the object itself is level 1.
    pub const MAX_DEPTH: usize = 8;

    /// Checks an object.
    ///
    /// # Errors
    /// [`MetadataError`] when it is too deep or too large.
    pub fn parse(object: Map<String, Value>) -> Result<Self, MetadataError> {
        if object.values().map(depth).max().unwrap_or(0) + 1 > Self::MAX_DEPTH {
            return Err(MetadataError::TooDeep {
                max: Self::MAX_DEPTH,
            });
        }
        let size = serde_json::to_vec(&object).map_or(usize::MAX, |bytes| bytes.len());
        if size > Self::MAX_BYTES {
            return Err(MetadataError::TooLarge {
                max: Self::MAX_BYTES,
            });
        }
        Ok(Self(object))
    }

    /// The object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

/// Levels of nesting of a value: 0 for a scalar, 1 for an array or object of scalars.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A parsed change to a profile, for [`crate::ports::UserRepository::update_profile`]: each field is `None` to
/// keep it, `Some(None)` to clear it, `Some(Some(value))` to set it. `metadata` is replaced whole.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ProfileChanges {
    /// The display name.
    pub name: Option<Option<DisplayName>>,
    /// The username (its key must stay unique).
    pub username: Option<Option<Username>>,
    /// The phone number.
    pub phone: Option<Option<PhoneNumber>>,
    /// The metadata object.
    pub metadata: Option<Metadata>,
}

impl ProfileChanges {
    /// `true` when nothing changes.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The names of the fields that change, for the security event log.
    pub fn field_names(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("username", self.username.is_some()),
            ("phone", self.phone.is_some()),
            ("metadata", self.metadata.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, changes)| changes.then_some(name))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn phone_numbers_are_e164_with_typed_separators_dropped() {
        assert_eq!(
            PhoneNumber::parse(" +1 (415) 555-2671 ").unwrap().as_str(),
            "+14155552671"
        );
        assert_eq!(
            PhoneNumber::parse("+44.20.7946.0958").unwrap().as_str(),
            "+442079460958"
        );
        for refused in [
            "14155552671",
            "+0145555267",
            "+1415555",
            "+1234567890123456",
            "+1415555267a",
            "++14155552671",
            "",
            "+",
            "\t+14155552671",
        ] {
            assert_eq!(
                PhoneNumber::parse(refused),
                Err(PhoneNumberError::NotE164),
                "{refused}"
            );
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn metadata_depth_counts_the_object_as_level_one() {
        let eight =
            json!({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}, "flat": [1, 2]});
        assert!(Metadata::parse(object(eight)).is_ok());
        let nine = json!({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}});
        assert_eq!(
            Metadata::parse(object(nine)),
            Err(MetadataError::TooDeep { max: 8 })
        );
        let arrays = json!({"a": [[[[[[[[1]]]]]]]]});
        assert_eq!(
            Metadata::parse(object(arrays)),
            Err(MetadataError::TooDeep { max: 8 })
        );
    }

    #[test]
    fn metadata_is_at_most_16_kib_serialised() {
        // {"k":"…"} is 8 bytes around the string.
        let fits = json!({ "k": "x".repeat(Metadata::MAX_BYTES - 8) });
        assert!(Metadata::parse(object(fits)).is_ok());
        let over = json!({ "k": "x".repeat(Metadata::MAX_BYTES - 7) });
        assert_eq!(
            Metadata::parse(object(over)),
            Err(MetadataError::TooLarge { max: 16 * 1024 })
        );
    }

    #[test]
    fn changes_name_their_fields() {
        let changes = ProfileChanges {
            phone: Some(None),
            metadata: Some(Metadata::default()),
            ..ProfileChanges::default()
        };
        assert_eq!(changes.field_names(), ["phone", "metadata"]);
        assert!(!changes.is_empty());
        assert!(ProfileChanges::default().is_empty());
    }
}
