//! The population registry table, loaded from the registry CSV.

use chrono::NaiveDate;

use crate::model::RegistryRecord;

use super::{BATCH, Db, Tx, on_pool};

/// The columns a registry row is written to, in the order [`push_values`] binds them.
pub(super) const COLUMNS: &str =
    "(id_number, full_name, birth_date, sex, residence_province, residence_commune, death_date)";

/// What a row of the same ID number already in the table takes from the new one: all of it.
pub(super) const UPDATE: &str = " ON CONFLICT (id_number) DO UPDATE SET full_name = excluded.full_name, \
                                 birth_date = excluded.birth_date, sex = excluded.sex, \
                                 residence_province = excluded.residence_province, \
                                 residence_commune = excluded.residence_commune, death_date = excluded.death_date";

/// `rows` as SQLite's multi-row `VALUES` of [`COLUMNS`].
pub(super) fn push_values(q: &mut sqlx::QueryBuilder<sqlx::Sqlite>, rows: &[RegistryRecord]) {
    q.push_values(rows, |mut b, r| {
        b.push_bind(&r.id_number)
            .push_bind(&r.full_name)
            .push_bind(r.birth_date)
            .push_bind(r.sex.as_str())
            .push_bind(&r.residence_province)
            .push_bind(&r.residence_commune)
            .push_bind(r.death_date);
    });
}

/// Insert or update a batch of registry rows (the registry is the authority:
/// a re-import with new facts replaces the old ones). SQLite takes them as
/// one multi-row `VALUES`; PostgreSQL as one `UNNEST` of column arrays, a
/// statement of seven parameters whatever the batch.
pub async fn upsert(tx: &mut Tx, rows: &[RegistryRecord]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match tx {
        Tx::Sqlite(tx) => {
            let mut q = sqlx::QueryBuilder::new(format!("INSERT INTO registry_people {COLUMNS} "));
            push_values(&mut q, rows);
            q.push(UPDATE);
            q.build().execute(&mut **tx).await?;
        }
        Tx::Postgres(tx) => {
            let texts = |f: fn(&RegistryRecord) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
            let query = format!(
                "INSERT INTO registry_people {COLUMNS} SELECT * FROM UNNEST($1::text[], $2::text[], $3::date[], \
                 $4::text[], $5::text[], $6::text[], $7::date[]) {UPDATE}"
            );
            sqlx::query(sqlx::AssertSqlSafe(query))
                .bind(texts(|r| &r.id_number))
                .bind(texts(|r| &r.full_name))
                .bind(rows.iter().map(|r| r.birth_date).collect::<Vec<NaiveDate>>())
                .bind(texts(|r| r.sex.as_str()))
                .bind(texts(|r| &r.residence_province))
                .bind(texts(|r| &r.residence_commune))
                .bind(rows.iter().map(|r| r.death_date).collect::<Vec<Option<NaiveDate>>>())
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

pub async fn count(db: &Db) -> anyhow::Result<i64> {
    Ok(on_pool!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM registry_people").fetch_one(pool).await?))
}

#[derive(sqlx::FromRow)]
struct Row {
    id_number: String,
    full_name: String,
    birth_date: NaiveDate,
    sex: String,
    residence_province: String,
    residence_commune: String,
    death_date: Option<NaiveDate>,
}

/// The records of these ID numbers that the table holds; anyone absent has none.
/// Asked in statements of [`BATCH`] numbers, well below both backends' limits on
/// bound parameters (a run's page is smaller still).
pub async fn find(db: &Db, id_numbers: &[String]) -> anyhow::Result<Vec<RegistryRecord>> {
    let mut records = Vec::with_capacity(id_numbers.len());
    for chunk in id_numbers.chunks(BATCH) {
        // The builder is typed by backend, so it is made in each arm.
        let rows: Vec<Row> = on_pool!(db, pool => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT id_number, full_name, birth_date, sex, residence_province, residence_commune, \
                 death_date FROM registry_people WHERE id_number IN (",
            );
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            q.push(")");
            q.build_query_as().fetch_all(pool).await?
        });
        for row in rows {
            records.push(row.into_record()?);
        }
    }
    Ok(records)
}

impl Row {
    fn into_record(self) -> anyhow::Result<RegistryRecord> {
        let sex = self.sex.parse().map_err(|e| {
            anyhow::anyhow!(
                "registry_people row {}: stored sex is invalid: {e}",
                crate::identity::masked(&self.id_number)
            )
        })?;
        Ok(RegistryRecord {
            id_number: self.id_number,
            full_name: self.full_name,
            birth_date: self.birth_date,
            sex,
            residence_province: self.residence_province,
            residence_commune: self.residence_commune,
            death_date: self.death_date,
        })
    }
}
