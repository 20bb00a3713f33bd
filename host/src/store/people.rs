//! One person across runs, for an auditor's look-up by ID number: where
//! they are enrolled, each run's decision about them and what was paid. Every
//! read is by a key the tables are indexed on (the enrolment by ID number, a
//! decision by run, month and beneficiary, a payment by programme, month and
//! ID number), so a look-up takes the same time in a database of a million
//! decisions a run as in one of ten.

use super::{Db, on_pool};

/// An enrolment of the person: the beneficiary's id, programme and province.
#[derive(sqlx::FromRow)]
pub struct Enrolled {
    pub id: i64,
    pub program: String,
    pub province: String,
}

/// The person's enrolments, by ID number.
pub async fn enrolled(db: &Db, id_number: &str) -> anyhow::Result<Vec<Enrolled>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT id, program, province FROM beneficiaries WHERE id_number = $1 ORDER BY id")
            .bind(id_number)
            .fetch_all(pool)
            .await?
    }))
}

/// The runs of a programme in a province, oldest first: their id, first and last month and status.
pub async fn runs_of(db: &Db, program: &str, province: &str) -> anyhow::Result<Vec<(i64, String, String, String)>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, first_period, period, status FROM runs WHERE program = $1 AND province = $2 ORDER BY id",
        )
        .bind(program)
        .bind(province)
        .fetch_all(pool)
        .await?
    }))
}

/// A run's decision about a beneficiary for a month.
#[derive(sqlx::FromRow)]
pub struct Decided {
    pub outcome: String,
    pub amount: i64,
    pub category: Option<String>,
    pub exception: Option<String>,
}

/// Run `run_id`'s decision about `beneficiary` for `period`, if it made one.
pub async fn decision(db: &Db, run_id: i64, period: &str, beneficiary: i64) -> anyhow::Result<Option<Decided>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT outcome, amount, category, exception FROM decisions \
             WHERE run_id = $1 AND period = $2 AND beneficiary_id = $3",
        )
        .bind(run_id)
        .bind(period)
        .bind(beneficiary)
        .fetch_optional(pool)
        .await?
    }))
}

/// The run that paid `id_number` for `program` and `period` (a payment not rejected), if any.
pub async fn paid_by(db: &Db, program: &str, period: &str, id_number: &str) -> anyhow::Result<Option<i64>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT run_id FROM payments WHERE program = $1 AND period = $2 AND id_number = $3 AND NOT rejected",
        )
        .bind(program)
        .bind(period)
        .bind(id_number)
        .fetch_optional(pool)
        .await?
    }))
}
