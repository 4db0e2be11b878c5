//! The database schema as diesel sees it. Keep in step with `migrations/postgres` (only column types
//! both backends share); a test proves both migrated schemas answer a query on every column.

diesel::table! {
    accounts (id) {
        id -> Text,
        name -> Text,
        require_external_id -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        invite_on_provision -> Bool,
        default_language -> Text,
        invite_agreement_accepted_at -> Nullable<Timestamp>,
        require_contact -> Bool,
        has_group_rules -> Bool,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        account_id -> Text,
        label -> Text,
        scope -> Text,
        token_hash -> Text,
        prefix -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        account_id -> Text,
        user_name -> Text,
        user_name_ci -> Text,
        external_id -> Nullable<Text>,
        name_formatted -> Nullable<Text>,
        family_name -> Nullable<Text>,
        given_name -> Nullable<Text>,
        middle_name -> Nullable<Text>,
        honorific_prefix -> Nullable<Text>,
        honorific_suffix -> Nullable<Text>,
        display_name -> Nullable<Text>,
        nick_name -> Nullable<Text>,
        profile_url -> Nullable<Text>,
        title -> Nullable<Text>,
        user_type -> Nullable<Text>,
        preferred_language -> Nullable<Text>,
        locale -> Nullable<Text>,
        timezone -> Nullable<Text>,
        active -> Bool,
        employee_number -> Nullable<Text>,
        cost_center -> Nullable<Text>,
        organization -> Nullable<Text>,
        division -> Nullable<Text>,
        department -> Nullable<Text>,
        manager_value -> Nullable<Text>,
        manager_ref -> Nullable<Text>,
        company_id -> Nullable<Text>,
        origin -> Text,
        sign_in -> Text,
        registration -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_emails (user_id, position) {
        user_id -> Text,
        position -> Integer,
        account_id -> Text,
        value -> Text,
        value_ci -> Text,
        display -> Nullable<Text>,
        kind -> Nullable<Text>,
        is_primary -> Nullable<Bool>,
    }
}

diesel::table! {
    user_phone_numbers (user_id, position) {
        user_id -> Text,
        position -> Integer,
        account_id -> Text,
        value -> Text,
        value_e164 -> Nullable<Text>,
        display -> Nullable<Text>,
        kind -> Nullable<Text>,
        is_primary -> Nullable<Bool>,
    }
}

diesel::table! {
    user_addresses (user_id, position) {
        user_id -> Text,
        position -> Integer,
        formatted -> Nullable<Text>,
        street_address -> Nullable<Text>,
        locality -> Nullable<Text>,
        region -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        country -> Nullable<Text>,
        kind -> Nullable<Text>,
        is_primary -> Nullable<Bool>,
    }
}

diesel::table! {
    user_roles (user_id, position) {
        user_id -> Text,
        position -> Integer,
        value -> Text,
        display -> Nullable<Text>,
        kind -> Nullable<Text>,
        is_primary -> Nullable<Bool>,
    }
}

diesel::table! {
    stores (id) {
        id -> Text,
        account_id -> Text,
        ref_id -> Text,
        name -> Nullable<Text>,
        country_calling_code -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    user_stores (user_id, position) {
        user_id -> Text,
        position -> Integer,
        store_id -> Text,
        is_primary -> Nullable<Bool>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        account_id -> Text,
        occurred_at -> Timestamp,
        actor -> Text,
        token_id -> Nullable<Text>,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        code -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        account_id -> Nullable<Text>,
        name -> Text,
        payload -> Text,
        dedup_key -> Nullable<Text>,
        priority -> Integer,
        state -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    job_schedules (name) {
        name -> Text,
        next_run_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        account_id -> Text,
        display_name -> Text,
        display_name_ci -> Text,
        external_id -> Nullable<Text>,
        group_type -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        origin -> Text,
    }
}

diesel::table! {
    group_rules (id) {
        id -> Text,
        account_id -> Text,
        attribute -> Text,
        group_type -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
        account_id -> Text,
        rule_id -> Nullable<Text>,
    }
}

diesel::table! {
    sign_in_codes (code_hash) {
        code_hash -> Text,
        account_id -> Text,
        user_id -> Text,
        via -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        account_id -> Text,
        user_id -> Text,
        token_hash -> Text,
        via -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    app_profiles (user_id) {
        user_id -> Text,
        account_id -> Text,
        language -> Nullable<Text>,
        terms_accepted_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    crewplanner_links (account_id) {
        account_id -> Text,
        slug -> Text,
        enabled -> Bool,
        key_kind -> Text,
        key_material -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    used_jtis (account_id, jti) {
        account_id -> Text,
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        account_id -> Text,
        user_id -> Text,
        created_user -> Bool,
        source -> Text,
        nonce -> Text,
        language -> Text,
        agreement_accepted_at -> Nullable<Timestamp>,
        sends -> Integer,
        first_sent_at -> Timestamp,
        last_sent_at -> Timestamp,
        expires_at -> Timestamp,
        reminders_sent -> Integer,
        last_reminder -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        delivery_status -> Text,
        delivery_attempts -> Integer,
        delivery_error -> Nullable<Text>,
        first_delivered_at -> Nullable<Timestamp>,
        last_delivered_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(api_tokens -> accounts (account_id));
diesel::joinable!(users -> accounts (account_id));
diesel::joinable!(user_emails -> users (user_id));
diesel::joinable!(user_phone_numbers -> users (user_id));
diesel::joinable!(user_addresses -> users (user_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(stores -> accounts (account_id));
diesel::joinable!(user_stores -> users (user_id));
diesel::joinable!(user_stores -> stores (store_id));
diesel::joinable!(audit_events -> accounts (account_id));
diesel::joinable!(jobs -> accounts (account_id));
diesel::joinable!(groups -> accounts (account_id));
diesel::joinable!(group_rules -> accounts (account_id));
diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(group_members -> users (user_id));
diesel::table! {
    data_migrations (name) {
        name -> Text,
        completed_at -> Timestamp,
    }
}

diesel::table! {
    server_key (id) {
        id -> Int4,
        fingerprint -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    invitation_tombstones (id) {
        id -> Text,
        account_id -> Text,
        nonce -> Text,
        outcome -> Text,
        ended_at -> Timestamp,
        keep_until -> Timestamp,
    }
}

diesel::table! {
    oauth_clients (id) {
        id -> Text,
        account_id -> Text,
        label -> Text,
        jwks_url -> Nullable<Text>,
        jwks_document -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_passcodes (id) {
        id -> Text,
        account_id -> Text,
        user_id -> Text,
        channel -> Text,
        contact_mac -> Text,
        nonce -> Text,
        failed_attempts -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    oauth_client_secrets (id) {
        id -> Text,
        client_id -> Text,
        account_id -> Text,
        secret_hash -> Text,
        prefix -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    oauth_access_tokens (id) {
        id -> Text,
        account_id -> Text,
        client_id -> Text,
        secret_id -> Nullable<Text>,
        token_hash -> Text,
        scope -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    oauth_used_jtis (client_id, jti) {
        client_id -> Text,
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    console_sessions (id_hash) {
        id_hash -> Text,
        account_id -> Text,
        token_id -> Text,
        csrf_secret -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(group_members -> group_rules (rule_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(sign_in_codes -> users (user_id));
diesel::joinable!(app_profiles -> users (user_id));
diesel::joinable!(invitations -> users (user_id));
diesel::joinable!(invitations -> accounts (account_id));
diesel::joinable!(sign_in_passcodes -> users (user_id));
diesel::joinable!(oauth_clients -> accounts (account_id));
diesel::joinable!(oauth_client_secrets -> oauth_clients (client_id));
diesel::joinable!(oauth_access_tokens -> oauth_clients (client_id));
diesel::joinable!(oauth_access_tokens -> oauth_client_secrets (secret_id));
diesel::joinable!(oauth_used_jtis -> oauth_clients (client_id));
diesel::joinable!(console_sessions -> api_tokens (token_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    api_tokens,
    users,
    user_emails,
    user_phone_numbers,
    user_addresses,
    user_roles,
    stores,
    user_stores,
    audit_events,
    jobs,
    job_schedules,
    groups,
    group_rules,
    group_members,
    sign_in_codes,
    sessions,
    app_profiles,
    crewplanner_links,
    used_jtis,
    invitations,
    data_migrations,
    server_key,
    invitation_tombstones,
    sign_in_passcodes,
    oauth_clients,
    oauth_client_secrets,
    oauth_access_tokens,
    oauth_used_jtis,
    console_sessions,
);
