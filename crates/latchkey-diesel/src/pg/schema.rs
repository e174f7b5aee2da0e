//! The PostgreSQL tables, as created by `migrations/postgres`.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_key -> Text,
        username -> Nullable<Text>,
        username_key -> Nullable<Text>,
        name -> Nullable<Text>,
        phone -> Nullable<Text>,
        metadata -> Jsonb,
        credits -> BigInt,
        is_verified -> Bool,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Bytea,
        session_id -> Text,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        successor_hash -> Nullable<Bytea>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(users, sessions, refresh_tokens);
