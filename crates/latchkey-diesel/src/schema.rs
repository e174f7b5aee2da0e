//! The tables, as `migrations/postgres` and `migrations/sqlite` create them: one schema for both backends, with the
//! columns whose storage differs typed by [`crate::sql_types`].

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{JsonObject, UtcTimestamp};

    users (id) {
        id -> Text,
        email -> Text,
        email_key -> Text,
        username -> Nullable<Text>,
        username_key -> Nullable<Text>,
        name -> Nullable<Text>,
        phone -> Nullable<Text>,
        metadata -> JsonObject,
        credits -> BigInt,
        is_verified -> Bool,
        password_hash -> Text,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        disabled_at -> Nullable<UtcTimestamp>,
        disabled_reason -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> UtcTimestamp,
        last_used_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        revoked_at -> Nullable<UtcTimestamp>,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        ends_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    refresh_tokens (token_hash) {
        token_hash -> Binary,
        session_id -> Text,
        issued_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        used_at -> Nullable<UtcTimestamp>,
        successor_hash -> Nullable<Binary>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    credentials (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        name -> Text,
        scopes -> Text,
        hint -> Text,
        secret_hash -> Binary,
        created_at -> UtcTimestamp,
        expires_at -> Nullable<UtcTimestamp>,
        last_used_at -> Nullable<UtcTimestamp>,
        revoked_at -> Nullable<UtcTimestamp>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(credentials -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    refresh_tokens,
    credentials,
    known_addresses,
    email_rekey,
    email_changes,
    verification_challenges,
    password_resets,
    outbox,
    security_events,
    credit_ledger,
    idempotency_keys
);

diesel::table! {
    /// Accounts whose email key the adapter still has to recompute (see `rekey.rs`).
    email_rekey (user_id) {
        user_id -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    verification_challenges (user_id) {
        user_id -> Text,
        link_hash -> Binary,
        code_hash -> Binary,
        link_expires_at -> UtcTimestamp,
        code_expires_at -> UtcTimestamp,
        attempts -> Integer,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    password_resets (user_id) {
        user_id -> Text,
        token_hash -> Binary,
        expires_at -> UtcTimestamp,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{JsonObject, UtcTimestamp};

    outbox (id) {
        id -> Text,
        recipient -> Text,
        kind -> Text,
        payload -> Nullable<JsonObject>,
        status -> Text,
        attempts -> Integer,
        due_at -> UtcTimestamp,
        created_at -> UtcTimestamp,
        finished_at -> Nullable<UtcTimestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    rate_limits (key) {
        key -> Binary,
        arrival_us -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    known_addresses (user_id, address) {
        user_id -> Text,
        address -> Binary,
        seen_at -> UtcTimestamp,
    }
}

diesel::joinable!(known_addresses -> users (user_id));

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    security_events (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        kind -> Text,
        outcome -> Text,
        subject -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    email_changes (user_id) {
        user_id -> Text,
        new_email -> Text,
        new_email_key -> Text,
        link_hash -> Binary,
        code_hash -> Binary,
        link_expires_at -> UtcTimestamp,
        code_expires_at -> UtcTimestamp,
        attempts -> Integer,
        requested_by -> Nullable<Text>,
        created_at -> UtcTimestamp,
    }
}

diesel::joinable!(email_changes -> users (user_id));

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    credit_ledger (sequence) {
        sequence -> BigInt,
        id -> Text,
        user_id -> Nullable<Text>,
        kind -> Text,
        amount -> BigInt,
        balance_after -> BigInt,
        charge_id -> Nullable<Text>,
        unit -> Nullable<Text>,
        quantity -> Nullable<BigInt>,
        reason -> Nullable<Text>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    idempotency_keys (user_id, key) {
        user_id -> Text,
        key -> Text,
        fingerprint -> Binary,
        charge_id -> Text,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
    }
}

diesel::joinable!(idempotency_keys -> users (user_id));
