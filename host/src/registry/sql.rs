//! The default registry: the `registry_people` table, loaded by `ansinh registry import`.

use crate::store::{self, Db};

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

impl Registry for Sql {
    fn lookup<'a>(&'a self, id_numbers: &'a [String]) -> Lookup<'a> {
        Box::pin(store::registry::find(&self.db, id_numbers))
    }

    fn source(&self) -> String {
        "table registry_people".to_owned()
    }
}
