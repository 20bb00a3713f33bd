//! The default registry: the `registry_people` table, loaded by `ansinh registry import`.

use chrono::NaiveDate;

use crate::model::RegistryRecord;
use crate::store::{BATCH, Db, on_pool};

use super::{Lookup, Registry};

/// The registry table of the run's own database.
pub struct Sql {
    db: Db,
}

impl Sql {
    pub fn new(db: Db) -> Sql {
        Sql { db }
    }
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

impl Registry for Sql {
    fn lookup<'a>(&'a self, id_numbers: &'a [String]) -> Lookup<'a> {
        Box::pin(async move {
            let mut records = Vec::with_capacity(id_numbers.len());
            // In statements of BATCH numbers, well below both backends' limits on bound
            // parameters (a run's page is smaller still). The builder is typed by backend, so
            // it is made in each arm.
            for chunk in id_numbers.chunks(BATCH) {
                let rows: Vec<Row> = on_pool!(&self.db, pool => {
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
        })
    }

    fn source(&self) -> String {
        "table registry_people".to_owned()
    }
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
