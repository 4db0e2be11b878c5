//! Which backend this run tests, said out loud, and proof that the migrated schema of that backend
//! answers a query on every column diesel knows.

use diesel::prelude::*;
use mobietrain_scim::db::models::*;
use mobietrain_scim::db::schema::*;

use crate::harness::{TestApp, postgres_server};

/// Writes past the test harness's output capture, so the line shows in every run.
#[test]
fn says_which_backend_runs() {
    use std::io::Write;
    let line = match postgres_server() {
        Some(server) => format!("integration tests run on PostgreSQL at {server}"),
        None => "integration tests run on SQLite; the PostgreSQL run was skipped \
                 (set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432 to run it)"
            .to_owned(),
    };
    let _ = writeln!(std::io::stderr().lock(), "\n{line}");
}

#[test]
fn migrated_schema_answers_every_tables_query() {
    let app = TestApp::new();
    let mut conn = app.conn();
    let conn = &mut *conn;
    accounts::table
        .select(Account::as_select())
        .load(conn)
        .unwrap();
    api_tokens::table
        .select(ApiToken::as_select())
        .load(conn)
        .unwrap();
    users::table
        .select(UserRow::as_select())
        .load(conn)
        .unwrap();
    user_emails::table
        .select(EmailRow::as_select())
        .load(conn)
        .unwrap();
    user_phone_numbers::table
        .select(PhoneNumberRow::as_select())
        .load(conn)
        .unwrap();
    user_addresses::table
        .select(AddressRow::as_select())
        .load(conn)
        .unwrap();
    user_roles::table
        .select(RoleRow::as_select())
        .load(conn)
        .unwrap();
    stores::table
        .select(StoreRow::as_select())
        .load(conn)
        .unwrap();
    user_stores::table
        .select(UserStoreRow::as_select())
        .load(conn)
        .unwrap();
    audit_events::table
        .select(AuditEventRow::as_select())
        .load(conn)
        .unwrap();
    jobs::table.select(JobRow::as_select()).load(conn).unwrap();
    job_schedules::table
        .select(JobScheduleRow::as_select())
        .load(conn)
        .unwrap();
    groups::table
        .select(GroupRow::as_select())
        .load(conn)
        .unwrap();
    group_members::table
        .select(GroupMemberRow::as_select())
        .load(conn)
        .unwrap();
    group_rules::table
        .select(GroupRuleRow::as_select())
        .load(conn)
        .unwrap();
    assert_eq!(app.db.is_postgres(), postgres_server().is_some());
    sign_in_codes::table
        .select(SignInCodeRow::as_select())
        .load(conn)
        .unwrap();
    sessions::table
        .select(SessionRow::as_select())
        .load(conn)
        .unwrap();
    app_profiles::table
        .select(AppProfileRow::as_select())
        .load(conn)
        .unwrap();
    crewplanner_links::table
        .select(CrewPlannerLinkRow::as_select())
        .load(conn)
        .unwrap();
    used_jtis::table
        .select(UsedJtiRow::as_select())
        .load(conn)
        .unwrap();
    invitations::table
        .select(InvitationRow::as_select())
        .load(conn)
        .unwrap();
    data_migrations::table
        .select(DataMigrationRow::as_select())
        .load(conn)
        .unwrap();
    server_key::table
        .select(mobietrain_scim::db::server_key::ServerKeyRow::as_select())
        .load(conn)
        .unwrap();
}
