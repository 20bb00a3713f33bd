//! Plug-in releases and their steps: uploaded → signed → approved → active → retired.
//!
//! Every step is one conditional UPDATE on the state the step starts from, so
//! two people acting at once cannot both move a release.

use chrono::Utc;

use crate::model::Month;
use ansinh_sandbox::PluginHash;

use super::{Db, Tx, on_pool, on_tx};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Uploaded,
    Signed,
    Approved,
    Active,
    Retired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Uploaded => "uploaded",
            State::Signed => "signed",
            State::Approved => "approved",
            State::Active => "active",
            State::Retired => "retired",
        }
    }

    fn parse(s: &str) -> anyhow::Result<State> {
        Ok(match s {
            "uploaded" => State::Uploaded,
            "signed" => State::Signed,
            "approved" => State::Approved,
            "active" => State::Active,
            "retired" => State::Retired,
            other => anyhow::bail!("unknown release state {other:?} in the database"),
        })
    }
}

#[derive(Clone, Debug)]
pub struct Release {
    pub id: i64,
    pub plugin_hash: PluginHash,
    /// `national` or a province code.
    pub authority: String,
    pub program: String,
    /// The YAML cases shipped with the release.
    pub cases: String,
    pub state: State,
    pub uploaded_by: String,
    pub key_id: Option<String>,
    pub signature: Option<String>,
    pub signed_by: Option<String>,
    pub approved_by: Option<String>,
    /// JSON: what approval checked.
    pub approval: Option<String>,
    pub effective_from: Option<Month>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    plugin_hash: String,
    authority: String,
    program: String,
    cases: String,
    state: String,
    uploaded_by: String,
    key_id: Option<String>,
    signature: Option<String>,
    signed_by: Option<String>,
    approved_by: Option<String>,
    approval: Option<String>,
    effective_from: Option<String>,
}

/// `SELECT <every column of Row> FROM releases <rest>`, as one literal.
macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, plugin_hash, authority, program, cases, state, uploaded_by, key_id, signature, signed_by, \
             approved_by, approval, effective_from FROM releases ",
            $rest
        )
    };
}

impl TryFrom<Row> for Release {
    type Error = anyhow::Error;

    fn try_from(r: Row) -> anyhow::Result<Release> {
        Ok(Release {
            id: r.id,
            plugin_hash: PluginHash::parse(&r.plugin_hash)
                .ok_or_else(|| anyhow::anyhow!("release {}: stored plug-in hash is not a sha256", r.id))?,
            authority: r.authority,
            program: r.program,
            cases: r.cases,
            state: State::parse(&r.state)?,
            uploaded_by: r.uploaded_by,
            key_id: r.key_id,
            signature: r.signature,
            signed_by: r.signed_by,
            approved_by: r.approved_by,
            approval: r.approval,
            effective_from: r.effective_from.map(|m| m.parse().map_err(anyhow::Error::msg)).transpose()?,
        })
    }
}

/// A new release in state `uploaded`; the same plug-in for the same
/// programme is refused, naming the release it already is.
pub async fn insert(
    tx: &mut Tx,
    db: &Db,
    plugin: PluginHash,
    authority: &str,
    program: &str,
    cases: &str,
    by: &str,
) -> anyhow::Result<i64> {
    let hash = plugin.to_string();
    let inserted: Result<i64, sqlx::Error> = on_tx!(tx, conn => {
        sqlx::query_scalar(
            "INSERT INTO releases (plugin_hash, authority, program, cases, state, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, 'uploaded', $5, $6) RETURNING id",
        )
        .bind(&hash)
        .bind(authority)
        .bind(program)
        .bind(cases)
        .bind(by)
        .bind(Utc::now())
        .fetch_one(conn)
        .await
    });
    match inserted.map_err(anyhow::Error::from) {
        Err(e) if super::is_unique_violation(&e) => {
            let existing: Option<i64> = on_pool!(db, pool => {
                sqlx::query_scalar("SELECT id FROM releases WHERE plugin_hash = $1 AND program = $2 AND state <> 'retired'")
                    .bind(&hash).bind(program).fetch_optional(pool).await?
            });
            let id = existing.map_or("?".to_owned(), |id| id.to_string());
            anyhow::bail!(
                "this plug-in is already uploaded for {program} as release {id}: to upload it again with other cases, \
                 retire that one first (`ansinh plugin retire {id}`)"
            )
        }
        other => other,
    }
}

pub async fn get(db: &Db, id: i64) -> anyhow::Result<Release> {
    find(db, id).await?.ok_or_else(|| anyhow::anyhow!("there is no release {id}; `ansinh plugin releases` lists them"))
}

/// Release `id`, if there is one.
pub async fn find(db: &Db, id: i64) -> anyhow::Result<Option<Release>> {
    let row: Option<Row> =
        on_pool!(db, pool => sqlx::query_as(select!("WHERE id = $1")).bind(id).fetch_optional(pool).await?);
    row.map(Release::try_from).transpose()
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<Release>> {
    let rows: Vec<Row> =
        on_pool!(db, pool => sqlx::query_as(select!("ORDER BY authority, program, id")).fetch_all(pool).await?);
    rows.into_iter().map(Release::try_from).collect()
}

/// The active release of `authority` for `program` in force in `period`:
/// the one with the latest effective month not after it.
pub async fn in_force(db: &Db, authority: &str, program: &str, period: Month) -> anyhow::Result<Option<Release>> {
    let sql = select!(
        "WHERE state = 'active' AND authority = $1 AND program = $2 AND effective_from <= $3 \
         ORDER BY effective_from DESC LIMIT 1"
    );
    let row: Option<Row> = on_pool!(db, pool => {
        sqlx::query_as(sql).bind(authority).bind(program).bind(period.to_string()).fetch_optional(pool).await?
    });
    row.map(Release::try_from).transpose()
}

/// The active release of `authority` for `program` with the latest effective
/// month: what a new release is compared with before approval.
pub async fn latest_active(db: &Db, authority: &str, program: &str) -> anyhow::Result<Option<Release>> {
    let sql =
        select!("WHERE state = 'active' AND authority = $1 AND program = $2 ORDER BY effective_from DESC LIMIT 1");
    let row: Option<Row> =
        on_pool!(db, pool => sqlx::query_as(sql).bind(authority).bind(program).fetch_optional(pool).await?);
    row.map(Release::try_from).transpose()
}

/// uploaded → signed.
pub async fn set_signed(tx: &mut Tx, id: i64, key_id: &str, signature: &str, by: &str) -> anyhow::Result<bool> {
    let done = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE releases SET state = 'signed', key_id = $2, signature = $3, signed_by = $4, signed_at = $5 \
             WHERE id = $1 AND state = 'uploaded'",
        )
        .bind(id).bind(key_id).bind(signature).bind(by).bind(Utc::now())
        .execute(conn).await?.rows_affected()
    });
    Ok(done == 1)
}

/// signed → approved.
pub async fn set_approved(tx: &mut Tx, id: i64, by: &str, approval: &str) -> anyhow::Result<bool> {
    let done = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE releases SET state = 'approved', approved_by = $2, approved_at = $3, approval = $4 \
             WHERE id = $1 AND state = 'signed'",
        )
        .bind(id).bind(by).bind(Utc::now()).bind(approval)
        .execute(conn).await?.rows_affected()
    });
    Ok(done == 1)
}

/// approved → active from `from`. Another active release of the same
/// authority and programme from the same month is refused by the database.
pub async fn set_active(tx: &mut Tx, id: i64, from: Month, by: &str) -> anyhow::Result<bool> {
    let done = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE releases SET state = 'active', effective_from = $2, activated_by = $3, activated_at = $4 \
             WHERE id = $1 AND state = 'approved'",
        )
        .bind(id).bind(from.to_string()).bind(by).bind(Utc::now())
        .execute(conn).await?.rows_affected()
    });
    Ok(done == 1)
}

/// any state but retired → retired: no longer chosen for any month.
pub async fn set_retired(tx: &mut Tx, id: i64, by: &str) -> anyhow::Result<bool> {
    let done = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE releases SET state = 'retired', retired_by = $2, retired_at = $3 \
             WHERE id = $1 AND state <> 'retired'",
        )
        .bind(id).bind(by).bind(Utc::now())
        .execute(conn).await?.rows_affected()
    });
    Ok(done == 1)
}
