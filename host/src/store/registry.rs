//! The population registry table, loaded from the registry CSV.

use crate::model::RegistryRecord;

use super::{Db, Tx, on_pool, on_tx};

/// Insert or update a batch of registry rows (the registry is the authority:
/// a re-import with new facts replaces the old ones).
pub async fn upsert(tx: &mut Tx, rows: &[RegistryRecord]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    on_tx!(tx, conn => {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO registry_people (id_number, full_name, birth_date, sex, residence_province, residence_commune, death_date) ",
        );
        q.push_values(rows, |mut b, r| {
            b.push_bind(&r.id_number)
                .push_bind(&r.full_name)
                .push_bind(r.birth_date)
                .push_bind(r.sex.as_str())
                .push_bind(&r.residence_province)
                .push_bind(&r.residence_commune)
                .push_bind(r.death_date);
        });
        q.push(
            " ON CONFLICT (id_number) DO UPDATE SET full_name = excluded.full_name, birth_date = excluded.birth_date, \
             sex = excluded.sex, residence_province = excluded.residence_province, \
             residence_commune = excluded.residence_commune, death_date = excluded.death_date",
        );
        q.build().execute(conn).await?;
    });
    Ok(())
}

pub async fn count(db: &Db) -> anyhow::Result<i64> {
    Ok(on_pool!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM registry_people").fetch_one(pool).await?))
}
