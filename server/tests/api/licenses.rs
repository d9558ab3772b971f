//! The license model's rules live in the schema: numbers unique per organization, number and state fixed.

use crate::on_both_databases;
use server::licenses::{self, LicenseError, NewLicense};
use shared::{LicenseNumber, Provider, StateCode};

fn colfax(organization_id: i64, number: &LicenseNumber) -> NewLicense<'_> {
    NewLicense {
        organization_id,
        number,
        state: StateCode::parse("CO").expect("served"),
        display_name: "Denver – Colfax Ave",
        license_type: "Retail Marijuana Store",
        provider: Provider::Metrc,
        time_zone: None,
    }
}

on_both_databases! {
    async fn a_license_number_is_unique_within_an_organization(app: TestApp) {
        let number = LicenseNumber::parse("402R-00101").expect("valid");
        let mut conn = app.db.pool.acquire().await.expect("connection");
        licenses::create(&mut conn, colfax(app.organization_id, &number)).await.expect("first");
        let again = licenses::create(&mut conn, colfax(app.organization_id, &number)).await;
        assert!(matches!(again, Err(LicenseError::Duplicate(n)) if n == number));

        // Another organization may hold the same number.
        let other = server::accounts::create_organization(&mut conn, "Other Co.").await.expect("org");
        licenses::create(&mut conn, colfax(other, &number)).await.expect("other organization");
    }

    async fn a_new_license_takes_its_states_time_zone_by_default(app: TestApp) {
        let number = LicenseNumber::parse("402R-00101").expect("valid");
        let mut conn = app.db.pool.acquire().await.expect("connection");
        let id = licenses::create(&mut conn, colfax(app.organization_id, &number)).await.expect("created");
        let zone: String = sqlx::query_scalar("SELECT time_zone FROM licenses WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .expect("row");
        assert_eq!(zone, "America/Denver");
    }

    async fn a_licenses_number_and_state_never_change(app: TestApp) {
        let number = LicenseNumber::parse("402R-00101").expect("valid");
        let mut conn = app.db.pool.acquire().await.expect("connection");
        let id = licenses::create(&mut conn, colfax(app.organization_id, &number)).await.expect("created");
        for sql in [
            "UPDATE licenses SET number = 'X-1' WHERE id = $1",
            "UPDATE licenses SET state = 'MA' WHERE id = $1",
        ] {
            let result = sqlx::query(sql).bind(id).execute(&app.db.pool).await;
            assert!(result.is_err(), "{sql} must be refused");
        }
        // Other fields may change.
        app.execute("UPDATE licenses SET display_name = 'Colfax' WHERE id = $1", &[id]).await;
    }

    /// Demo seeding can run at every start without duplicating anything.
    async fn demo_seeding_is_idempotent(app: TestApp) {
        assert!(server::demo::seed(&app.db, &app.keys()).await.expect("first seed"));
        assert!(!server::demo::seed(&app.db, &app.keys()).await.expect("second seed"));
        assert_eq!(app.count("SELECT COUNT(*) FROM licenses", &[]).await, 3);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE email LIKE '%@demo.test'", &[]).await,
            2
        );
        let response = app.sign_in(server::demo::ADMIN_EMAIL, server::demo::PASSWORD).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    }
}
