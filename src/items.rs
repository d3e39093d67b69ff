//! Reading a job's items: with their embeddings, fast and in bounded memory (raw datums
//! through a cursor; see the notes on SPI reads in the README), and a run's items with
//! their texts, always as the job's owner.

use crate::datum::{decode_embedding, Decoded};
use crate::error::{raise, OrRaise};
use crate::gucs::max_memory_bytes;
use crate::jobs::{run_team_and_source, EmbeddingType, Job, Source, Window};
use crate::pg::{check_interrupts, Required};
use crate::query::Binds;
use llm_clusters_engine::cluster::Params;
use llm_clusters_engine::filters::{parse_filters, to_sql};
use llm_clusters_engine::report::{Item, PREVIEW_CHARS};
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::prelude::*;
use std::collections::{HashMap, HashSet};

const FETCH_ROWS: i64 = 1000;
/// Largest embedding dimension read (pgvector's own limit for `vector`); larger ones are skipped.
pub const MAX_DIMENSIONS: usize = 16_000;
/// The engine's working memory per run, as a multiple of the raw vectors' bytes (measured
/// peaks: 1.25x at 100k x 1,536, 1.8x at 100k x 384): budgets assume twice.
const ENGINE_MEMORY_FACTOR: usize = 2;
/// Longest item id or trace id a read keeps, in bytes: an item whose id is longer is left
/// out (`skipped_long_id`). A fetch holds `FETCH_ROWS` rows whole, and a source's ids are
/// as long as it makes them (a view's 1 MB ids took a run to 3 GB under a 64 MB budget);
/// SDKs' ids are uuids, and a run's assignments could not index such ids anyway.
pub const MAX_ID_BYTES: usize = 1024;
/// Largest embedding datum a fetch holds, in bytes: `MAX_DIMENSIONS` float8s and headers
/// (any type's datum of more values is longer). A longer one is never fetched, only
/// counted with those over `MAX_DIMENSIONS`, which a fetch held whole before (1,000 rows
/// of a view's 64 MB arrays: 64 GB).
const MAX_EMBEDDING_BYTES: usize = MAX_DIMENSIONS * 8 + 1024;

/// Rows read from the source, grouped by embedding dimension.
#[derive(Default)]
pub struct Items {
    pub ids: Vec<String>,
    pub trace_ids: Vec<Option<String>>,
    pub ts: Vec<Option<TimestampWithTimeZone>>,
    pub data: Vec<f32>,
}

impl Items {
    /// These items (rows of `dim` floats) but those whose id is in `leave_out`.
    pub fn without(self, dim: usize, leave_out: &HashSet<String>) -> Items {
        if leave_out.is_empty() || dim == 0 {
            return self;
        }
        let mut kept = Items::default();
        let rows = self.ids.into_iter().zip(self.trace_ids).zip(self.ts).zip(self.data.chunks_exact(dim));
        for (((id, trace_id), ts), row) in rows {
            if !leave_out.contains(&id) {
                kept.ids.push(id);
                kept.trace_ids.push(trace_id);
                kept.ts.push(ts);
                kept.data.extend_from_slice(row);
            }
        }
        kept
    }
}

pub struct Read {
    pub items: Items,
    pub dim: usize,
    pub in_window: i64,
    /// Why the window was sampled: `max_items` or `max_memory_mb` (None: every item read).
    pub sampled_by: Option<&'static str>,
    /// At most this many items were read.
    pub max_items: usize,
    pub skipped_null: i64,
    /// Not a one-dimensional array without NULLs, or a malformed vector.
    pub skipped_invalid: i64,
    pub skipped_non_finite: i64,
    pub skipped_over_max_dimension: i64,
    pub skipped_dimension: i64,
    /// An item id or trace id longer than `MAX_ID_BYTES`.
    pub skipped_long_id: i64,
}

/// Raises unless column `ordinal` of the result SPI just returned has type `expected`: the
/// embedding is decoded from its storage, so its type must be the one checked, even if the
/// relation was altered since.
fn check_result_type(ordinal: i32, expected: &EmbeddingType) {
    // SAFETY: called right after a select or fetch, whose result SPI_tuptable is.
    let found = unsafe {
        let table = pg_sys::SPI_tuptable;
        if table.is_null() {
            return;
        }
        pg_sys::SPI_gettypeid((*table).tupdesc, ordinal)
    };
    if found != expected.oid {
        raise(EngineError::new(
            ErrorKind::DatatypeMismatch,
            format!(
                "the source's embedding column changed type while it was read (type oid {}, expected {})",
                found.to_u32(),
                expected.oid.to_u32()
            ),
        ));
    }
}

/// The dimension of the first readable embedding the query finds (0 if none).
fn probe_dimension(query: &str, args: &[DatumWithOid], embedding: &EmbeddingType) -> usize {
    Spi::connect(|client| {
        let mut table = client.select(query, Some(1), args)?;
        check_result_type(1, embedding);
        let mut values = Vec::new();
        if table.next().is_some() {
            if let Some(d) = table.get_datum_by_ordinal(1)? {
                // SAFETY: a non-null datum of the embedding type, checked by OID above.
                if let Decoded::TooLong(length) =
                    unsafe { decode_embedding(d, embedding.kind, MAX_DIMENSIONS, &mut values) }
                {
                    return Ok(length);
                }
            }
        }
        Ok::<_, pgrx::spi::Error>(values.len())
    })
    .or_raise()
}

/// The WHERE clause shared by every query over the job's items (the team, the window, the
/// job's filters), its values bound in `binds`.
pub fn item_condition(job: &Job, window: Window, binds: &mut Binds) -> String {
    let filters = parse_filters(&job.filters).or_raise();
    let team = binds.push(job.team_id);
    let (start, end) = (binds.push(window.start), binds.push(window.end));
    let filter_sql = to_sql(&filters, &mut |p| binds.push_filter(p));
    format!("s.team_id = {team} AND s.ts >= {start} AND s.ts < {end} AND ({filter_sql})")
}

/// What to read besides the window and the job's filters.
#[derive(Default)]
pub struct ReadOptions {
    /// Read only these items (those of the clusters a steer names).
    pub only: Option<Vec<String>>,
    /// Keep the items of this dimension (default: the most common one).
    pub dim: Option<usize>,
    /// Read every item, never a sample.
    pub all: bool,
}

/// Reads the job's items in the window (a seeded uniform sample of `max_items` when there
/// are more), with their embeddings as raw floats, grouped by dimension. The source is
/// read with its owner's rights.
pub fn read_items(job: &Job, source: &Source, params: &Params, window: Window, options: &ReadOptions) -> Read {
    let embedding = source.embedding_type();
    let mut binds = Binds::new();
    let mut condition = item_condition(job, window, &mut binds);
    if let Some(only) = &options.only {
        condition.push_str(&format!(" AND s.item_id = ANY({})", binds.push(only.clone())));
    }
    source.read(|| read_source(source, &embedding, condition, binds, params, options))
}

fn read_source(
    source: &Source,
    embedding: &EmbeddingType,
    condition: String,
    mut binds: Binds,
    params: &Params,
    options: &ReadOptions,
) -> Read {
    // `source` is the relation's quoted, schema-qualified name; filter values are parameters.
    let source = &source.name;
    // Items with longer ids are left out of every query below, in SQL: the cursor's fetches
    // never hold them.
    let ids_fit = format!(
        "coalesce(pg_catalog.octet_length(s.item_id), 0) <= {MAX_ID_BYTES} AND coalesce(pg_catalog.octet_length(s.trace_id), 0) <= {MAX_ID_BYTES}"
    );
    let (in_window, skipped_long_id) = Spi::get_two_with_args::<i64, i64>(
        &format!(
            "SELECT count(*) FILTER (WHERE {ids_fit}), count(*) FILTER (WHERE NOT ({ids_fit})) FROM {source} s WHERE {condition}"
        ),
        binds.args(),
    )
    .or_raise();
    let (in_window, skipped_long_id) = (in_window.required("count(*)"), skipped_long_id.required("count(*)"));
    let condition = format!("{condition} AND {ids_fit}");
    // The memory budget caps the items read, from the dimension of a first embedding.
    let budget = max_memory_bytes();
    let probed = probe_dimension(
        &format!("SELECT s.embedding FROM {source} s WHERE {condition} AND s.embedding IS NOT NULL LIMIT 1"),
        binds.args(),
        embedding,
    );
    let by_memory = budget / (probed.clamp(1, MAX_DIMENSIONS) * 4 * ENGINE_MEMORY_FACTOR);
    let max_items = params.max_items.min(by_memory);
    let sampled_by = match (options.all, in_window > max_items as i64) {
        (false, true) => Some(if by_memory < params.max_items { "max_memory_mb" } else { "max_items" }),
        _ => None,
    };
    let sample_sql = if sampled_by.is_some() {
        // A uniform sample that the seed fixes: the max_items smallest hashes of the ids.
        let (seed, limit) = (binds.push(params.seed.to_string()), binds.push(max_items as i64));
        format!(
            " AND s.item_id IN (SELECT s.item_id FROM {source} s WHERE {condition} ORDER BY md5(s.item_id || {seed}), s.item_id LIMIT {limit})"
        )
    } else {
        String::new()
    };
    // An embedding datum longer than any of MAX_DIMENSIONS values is not fetched (column 4
    // NULL, column 5 true).
    let query = format!(
        "SELECT s.item_id, s.trace_id, s.ts,
                CASE WHEN pg_catalog.pg_column_size(s.embedding) <= {MAX_EMBEDDING_BYTES} THEN s.embedding END,
                pg_catalog.pg_column_size(s.embedding) > {MAX_EMBEDDING_BYTES}
         FROM {source} s WHERE {condition}{sample_sql} ORDER BY s.item_id"
    );
    let mut by_dim: HashMap<usize, Items> = HashMap::new();
    // The rows of the probed dimension in one buffer, sized once: at a million items a
    // doubling buffer would be copied (and held twice) as it grows. Only a dimension the
    // read keeps: max_items holds rows of at most MAX_DIMENSIONS to the memory budget, and
    // a source's first embedding may be of any length.
    if (1..=MAX_DIMENSIONS).contains(&probed) {
        let rows = usize::try_from(in_window).unwrap_or(0).min(max_items);
        let items = by_dim.entry(probed).or_default();
        items.data.reserve_exact(rows.saturating_mul(probed));
        items.ids.reserve_exact(rows);
        items.trace_ids.reserve_exact(rows);
        items.ts.reserve_exact(rows);
    }
    let mut values: Vec<f32> = Vec::new();
    let (mut skipped_null, mut skipped_invalid, mut skipped_non_finite, mut skipped_over_max_dimension) =
        (0i64, 0i64, 0i64, 0i64);
    let (mut bytes, mut id_bytes) = (0usize, 0usize);
    Spi::connect(|client| {
        let mut cursor = client.try_open_cursor(query.as_str(), binds.args())?;
        loop {
            let mut table = cursor.fetch(FETCH_ROWS)?;
            if table.is_empty() {
                break;
            }
            check_result_type(4, embedding);
            // Advance with next() but read through the table: its raw datums are not copied.
            while table.next().is_some() {
                let Some(id) = table.get::<String>(1)? else { continue };
                values.clear();
                let Some(datum) = table.get_datum_by_ordinal(4)? else {
                    if table.get::<bool>(5)? == Some(true) {
                        skipped_over_max_dimension += 1;
                    } else {
                        skipped_null += 1;
                    }
                    continue;
                };
                // SAFETY: a non-null datum of the embedding type, checked by OID above.
                match unsafe { decode_embedding(datum, embedding.kind, MAX_DIMENSIONS, &mut values) } {
                    Decoded::Values if values.is_empty() => {
                        skipped_null += 1;
                        continue;
                    }
                    Decoded::Values => {}
                    Decoded::Unusable => {
                        skipped_invalid += 1;
                        continue;
                    }
                    Decoded::TooLong(_) => {
                        skipped_over_max_dimension += 1;
                        continue;
                    }
                }
                bytes += values.len() * 4;
                if bytes * ENGINE_MEMORY_FACTOR > budget {
                    raise(EngineError::new(
                        ErrorKind::LimitExceeded,
                        format!(
                            "the window's embeddings need more than llm_clusters.max_memory_mb ({} MB); lower params.max_items or raise the setting",
                            budget >> 20
                        ),
                    ));
                }
                if values.iter().any(|x| !x.is_finite()) {
                    skipped_non_finite += 1;
                    continue;
                }
                let trace_id = table.get::<String>(2)?;
                // The ids are held as long as the floats: the same budget, of their own.
                id_bytes += id.len() + trace_id.as_ref().map_or(0, String::len);
                if id_bytes > budget {
                    raise(EngineError::new(
                        ErrorKind::LimitExceeded,
                        format!(
                            "the window's item and trace ids need more than llm_clusters.max_memory_mb ({} MB)",
                            budget >> 20
                        ),
                    )
                    .with_hint("Lower the job's params.max_items, shorten the source's ids, or ask a superuser to raise llm_clusters.max_memory_mb."));
                }
                let items = by_dim.entry(values.len()).or_default();
                items.ids.push(id);
                items.trace_ids.push(trace_id);
                items.ts.push(table.get::<TimestampWithTimeZone>(3)?);
                items.data.extend_from_slice(&values);
            }
            // fetch() does not free the previous batch: free it so memory stays flat.
            unsafe { pg_sys::SPI_freetuptable(pg_sys::SPI_tuptable) };
            check_interrupts().or_raise();
        }
        Ok::<_, pgrx::spi::Error>(())
    })
    .or_raise();
    // Mixed dimensions: the most common wins (ties: the larger dimension).
    by_dim.retain(|_, items| !items.ids.is_empty());
    let dim = options
        .dim
        .unwrap_or_else(|| by_dim.iter().max_by_key(|(d, items)| (items.ids.len(), **d)).map(|(d, _)| *d).unwrap_or(0));
    let items = by_dim.remove(&dim).unwrap_or_default();
    let skipped_dimension = by_dim.values().map(|i| i.ids.len() as i64).sum();
    Read {
        items,
        dim,
        in_window,
        sampled_by,
        max_items,
        skipped_null,
        skipped_invalid,
        skipped_non_finite,
        skipped_over_max_dimension,
        skipped_dimension,
        skipped_long_id,
    }
}

/// Items of run `run_id` chosen by the condition `choose` writes (over assignments `a`,
/// binding its values), with the first `preview` characters of their text (read from the
/// source with its owner's rights).
pub fn run_items(
    source: Option<&Source>,
    team_id: i32,
    preview: i32,
    run_id: i64,
    choose: impl FnOnce(&mut Binds) -> String,
) -> Vec<Item> {
    let mut binds = Binds::new();
    let (team, run) = (binds.push(team_id), binds.push(run_id));
    let condition = choose(&mut binds);
    let mut items: Vec<Item> = Spi::connect(|client| {
        client
            .select(
                &format!("SELECT a.item_id, a.trace_id, a.cluster_id, a.x, a.y, a.rank FROM llm_clusters.assignments a WHERE a.team_id = {team} AND a.run_id = {run} AND {condition}"),
                None,
                binds.args(),
            )?
            .map(|row| {
                Ok(Item {
                    item_id: row.get::<String>(1)?.required("assignments.item_id"),
                    trace_id: row.get::<String>(2)?,
                    cluster_id: row.get::<i32>(3)?.required("assignments.cluster_id"),
                    x: row.get::<f64>(4)?.required("assignments.x"),
                    y: row.get::<f64>(5)?.required("assignments.y"),
                    rank: row.get::<i32>(6)?.required("assignments.rank"),
                    preview: String::new(),
                    summary: None,
                })
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise();
    let Some(source) = source else { return items };
    let ids: Vec<String> = items.iter().map(|i| i.item_id.clone()).collect();
    let texts = item_texts(source, team_id, ids, preview);
    for item in &mut items {
        if let Some(text) = texts.get(&item.item_id) {
            item.preview.clone_from(text);
        }
    }
    items
}

/// The items of run `run_id` nearest their cluster's centre, at most `per_cluster` of each
/// (ranks below it), with previews as `run_items` reads them. Ranks are unique in a cluster
/// a run writes, but admins insert rows into their runs: ties count one each, so no number
/// of planted rank-0 rows grows what a page or a label request holds.
pub fn nearest_items(source: Option<&Source>, team_id: i32, preview: i32, run_id: i64, per_cluster: i32) -> Vec<Item> {
    run_items(source, team_id, preview, run_id, |b| {
        let (team, run, k) = (b.push(team_id), b.push(run_id), b.push(per_cluster));
        format!(
            "a.item_id IN (SELECT n.item_id FROM (SELECT b.item_id, row_number() OVER (PARTITION BY b.cluster_id ORDER BY b.rank, b.item_id) AS place
                                                  FROM llm_clusters.assignments b WHERE b.team_id = {team} AND b.run_id = {run} AND b.rank < {k}) n
                           WHERE n.place <= {k})
             ORDER BY a.cluster_id, a.rank, a.item_id"
        )
    })
}

/// The first `chars` characters of the content of the items `ids` (those the source
/// has), in one scan of the source as its owner (a lookup per item would scan a view per item).
pub fn item_texts(source: &Source, team_id: i32, ids: Vec<String>, chars: i32) -> HashMap<String, String> {
    source
        .read(|| {
            Spi::connect(|client| {
                client
                    .select(
                        // The relation's quoted, schema-qualified name; values are parameters.
                        &format!("SELECT s.item_id, left(s.content, $3) FROM {} s WHERE s.team_id = $1 AND s.item_id = ANY($2)", source.name),
                        None,
                        &[team_id.into(), ids.into(), chars.into()],
                    )?
                    .filter_map(|row| match (row.get::<String>(1), row.get::<String>(2)) {
                        (Ok(Some(id)), Ok(Some(text))) => Some(Ok((id, text))),
                        (Err(e), _) | (_, Err(e)) => Some(Err(e)),
                        _ => None,
                    })
                    .collect::<Result<HashMap<_, _>, pgrx::spi::Error>>()
            })
        })
        .or_raise()
}

/// Internal: previews of items of a run (for `cluster_items`), read as the job's owner.
/// Only for runs the caller can see, only items of that run, at most `PREVIEW_CHARS`
/// characters each (what `cluster_items` promises its readers, whatever they pass); none
/// when the job or its source is gone.
#[pg_extern(stable, parallel_safe, name = "_item_previews")]
#[search_path(pg_catalog, pg_temp)]
pub fn item_previews(
    run_id: i64,
    item_ids: Vec<String>,
    chars: i32,
) -> TableIterator<'static, (name!(item_id, String), name!(preview, String))> {
    let texts = match run_team_and_source(run_id) {
        Some((team_id, Some(source))) => {
            let assigned: Vec<String> = Spi::connect(|client| {
                client
                    .select(
                        "SELECT a.item_id FROM llm_clusters.assignments a
                         WHERE a.team_id = $1 AND a.run_id = $2 AND a.item_id = ANY($3)",
                        None,
                        &[team_id.into(), run_id.into(), item_ids.into()],
                    )?
                    .filter_map(|row| row.get::<String>(1).transpose())
                    .collect::<Result<Vec<_>, pgrx::spi::Error>>()
            })
            .or_raise();
            item_texts(&source, team_id, assigned, chars.clamp(0, PREVIEW_CHARS as i32))
        }
        _ => HashMap::new(),
    };
    TableIterator::new(texts)
}
