//! `llm_clusters.run_job`: reads a job's items, clusters them in the engine, labels the
//! clusters and stores runs, clusters and assignments. The work runs in a subtransaction:
//! on any error (or cancel) its writes are rolled back and the run is recorded as failed.

use crate::error::{raise, OrRaise};
use crate::jobs::{checked_params, source_embedding_kind, source_name};
use llm_clusters_engine::cluster::labels::{label_clusters, OUTLIERS_TITLE};
use llm_clusters_engine::cluster::{cluster, Clustering, Params};
use llm_clusters_engine::filters::{parse_filters, to_sql, SqlParam};
use llm_clusters_engine::source::EmbeddingKind;
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Instant;

const FETCH_ROWS: i64 = 1000;
/// Items per cluster whose text feeds its keywords (the closest to the centre).
const LABEL_ITEMS_PER_CLUSTER: u32 = 200;
const WRITE_BATCH: usize = 10_000;

struct Job {
    team_id: i32,
    /// The source relation's quoted name, resolved once per run (empty until then).
    source_name: String,
    name: String,
    level: String,
    source: pg_sys::Oid,
    filters: Value,
    params: Value,
}

fn load_job(job_id: i32) -> Job {
    Spi::connect(|client| {
        let table = client.select(
            "SELECT team_id, name, level, source::oid, filters, params FROM llm_clusters.jobs WHERE id = $1",
            Some(1),
            &[job_id.into()],
        )?;
        if table.is_empty() {
            return Ok(None);
        }
        let row = table.first();
        Ok::<_, pgrx::spi::Error>(Some(Job {
            team_id: row.get::<i32>(1)?.unwrap_or_default(),
            name: row.get::<String>(2)?.unwrap_or_default(),
            level: row.get::<String>(3)?.unwrap_or_default(),
            source: row.get::<pg_sys::Oid>(4)?.unwrap_or(pg_sys::InvalidOid),
            source_name: String::new(),
            filters: row.get::<JsonB>(5)?.map(|j| j.0).unwrap_or(Value::Null),
            params: row.get::<JsonB>(6)?.map(|j| j.0).unwrap_or(Value::Null),
        }))
    })
    .or_raise()
    .unwrap_or_else(|| raise(EngineError::new(ErrorKind::NotFound, format!("job {job_id} does not exist"))))
}

/// A run's window, `[start, end)`.
#[derive(Clone, Copy)]
struct Window {
    start: TimestampWithTimeZone,
    end: TimestampWithTimeZone,
}

/// What a finished (not failed) run records.
struct Outcome {
    status: &'static str,
    error: Option<String>,
    n_items: i32,
    n_clusters: i32,
    n_outliers: i32,
    quality: Value,
    timings: Value,
}

/// Internal: called by `llm_clusters.run_job`.
#[pg_extern(volatile, parallel_unsafe, name = "_run_job")]
pub fn run_job(job_id: i32, window_end: TimestampWithTimeZone) -> i64 {
    run(job_id, window_end, None).unwrap_or_else(|| {
        raise(EngineError::new(ErrorKind::Busy, format!("job {job_id} is already running in another session")))
    })
}

/// Runs a job over the window ending at `window_end` and returns the run id, or `None`
/// when another session is running the job (or, for a scheduled run, when the job has
/// already run in `cycle`). Once the job is locked, every failure is recorded as a
/// failed run rather than raised.
pub fn run(job_id: i32, window_end: TimestampWithTimeZone, cycle: Option<TimestampWithTimeZone>) -> Option<i64> {
    let job = load_job(job_id);
    let locked = Spi::get_one_with_args::<bool>(
        "SELECT pg_try_advisory_xact_lock(hashtext('llm_clusters.run_job'), $1)",
        &[job_id.into()],
    )
    .or_raise();
    if locked != Some(true) {
        return None;
    }
    if let Some(cycle) = cycle {
        // Checked under the lock, with a fresh snapshot: a run that committed meanwhile counts.
        let done = Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM llm_clusters.runs WHERE job_id = $1 AND cycle = $2)",
            &[job_id.into(), cycle.into()],
        )
        .or_raise();
        if done == Some(true) {
            return None;
        }
    }
    let prepared = in_subtransaction(|| {
        let params = checked_params(&job.params);
        let start = Spi::get_one_with_args::<TimestampWithTimeZone>(
            "SELECT $1 - $2::interval",
            &[window_end.into(), params.window.as_str().into()],
        )
        .or_raise()
        .unwrap_or(window_end);
        (params, Window { start, end: window_end }, source_name(job.source))
    });
    let window = prepared.as_ref().map_or(Window { start: window_end, end: window_end }, |p| p.1);
    let run_id = Spi::get_one_with_args::<i64>(
        "INSERT INTO llm_clusters.runs (job_id, team_id, job_name, level, window_start, window_end, cycle, params)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        &[
            job_id.into(),
            job.team_id.into(),
            job.name.as_str().into(),
            job.level.as_str().into(),
            window.start.into(),
            window.end.into(),
            cycle.into(),
            JsonB(job.params.clone()).into(),
        ],
    )
    .or_raise()
    .unwrap_or_default();

    let outcome = prepared.and_then(|(params, window, source_name)| {
        let job = Job { source_name, ..job };
        in_subtransaction(|| execute(&job, &params, run_id, window))
    });
    let outcome = outcome.unwrap_or_else(|message| {
        pgrx::warning!("run {run_id} of job {job_id} failed: {message}");
        Outcome { status: "failed", error: Some(message), n_items: 0, n_clusters: 0, n_outliers: 0, quality: json!({}), timings: json!({}) }
    });
    Spi::run_with_args(
        "UPDATE llm_clusters.runs SET status = $2, error = $3, n_items = $4, n_clusters = $5, n_outliers = $6,
                quality = $7, timings = $8, finished_at = clock_timestamp() WHERE id = $1",
        &[
            run_id.into(),
            outcome.status.into(),
            outcome.error.into(),
            outcome.n_items.into(),
            outcome.n_clusters.into(),
            outcome.n_outliers.into(),
            JsonB(outcome.quality).into(),
            JsonB(outcome.timings).into(),
        ],
    )
    .or_raise();
    Some(run_id)
}

/// Stops a run at the next unit of work when the session was cancelled or timed out
/// (raises, as CHECK_FOR_INTERRUPTS does) or the background worker was asked to shut down.
pub fn check_interrupts() -> Result<(), EngineError> {
    pg_sys::check_for_interrupts!();
    // Set by the background worker's SIGTERM handler; never set in a regular backend.
    if unsafe { std::ptr::read_volatile(&raw const pg_sys::ShutdownRequestPending) } != 0 {
        return Err(EngineError::new(ErrorKind::Cancelled, "run interrupted: the server is shutting down"));
    }
    Ok(())
}

/// Runs `f` in a subtransaction: its writes commit with the caller's transaction when it
/// returns, and are rolled back, with the error's message returned, when it raises.
pub fn in_subtransaction<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    // SAFETY: the standard PL pattern (see plpgsql's exec_stmt_block): remember the memory
    // context and resource owner, begin, and restore both after release or rollback.
    let (context, owner) = unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
    unsafe { pg_sys::BeginInternalSubTransaction(std::ptr::null()) };
    let restore = move || unsafe {
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
    };
    let f = std::panic::AssertUnwindSafe(f);
    PgTryBuilder::new(move || {
        let value = f();
        unsafe { pg_sys::ReleaseCurrentSubTransaction() };
        restore();
        Ok(value)
    })
    .catch_others(|caught| {
        restore();
        unsafe { pg_sys::RollbackAndReleaseCurrentSubTransaction() };
        restore();
        Err(match caught {
            CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => r.message().to_string(),
            CaughtError::RustPanic { ereport, .. } => ereport.message().to_string(),
        })
    })
    .execute()
}

/// Rows read from the source, grouped by embedding dimension.
#[derive(Default)]
struct Items {
    ids: Vec<String>,
    trace_ids: Vec<Option<String>>,
    ts: Vec<Option<TimestampWithTimeZone>>,
    data: Vec<f32>,
}

struct Read {
    items: Items,
    dim: usize,
    in_window: i64,
    sampled: bool,
    skipped_null: i64,
    skipped_non_finite: i64,
    skipped_dimension: i64,
}

fn execute(job: &Job, params: &Params, run_id: i64, window: Window) -> Outcome {
    let mut timings = serde_json::Map::new();
    let t = Instant::now();
    let read = read_items(job, params, window);
    timings.insert("read".into(), json!(t.elapsed().as_secs_f64()));
    let n = read.items.ids.len();
    let mut quality = json!({
        "items_in_window": read.in_window,
        "sampled": read.sampled,
        "skipped_null_embedding": read.skipped_null,
        "skipped_non_finite": read.skipped_non_finite,
        "skipped_other_dimension": read.skipped_dimension,
        "dimension": read.dim,
    });
    if n < params.min_items {
        return Outcome {
            status: "skipped",
            error: Some(format!("{n} items with a usable embedding in the window, fewer than min_items ({})", params.min_items)),
            n_items: n as i32,
            n_clusters: 0,
            n_outliers: 0,
            quality,
            timings: Value::Object(timings),
        };
    }
    let Items { ids, trace_ids, ts, mut data } = read.items;
    let result = cluster(&mut data, read.dim, params, None, &check_interrupts).or_raise();
    for (phase, secs) in &result.timings {
        timings.insert((*phase).into(), json!(secs));
    }
    let t = Instant::now();
    let labels = label(job, &ids, &result);
    timings.insert("label".into(), json!(t.elapsed().as_secs_f64()));
    let t = Instant::now();
    write_results(job, run_id, &ids, &trace_ids, &ts, &result, &labels);
    timings.insert("write".into(), json!(t.elapsed().as_secs_f64()));
    let n_outliers = result.labels.iter().filter(|&&l| l < 0).count();
    let q = &result.quality;
    if let Value::Object(m) = &mut quality {
        m.insert("method".into(), json!(q.method));
        m.insert("silhouette".into(), json!(q.silhouette));
        m.insert("outlier_share".into(), json!(q.outlier_share));
        m.insert("largest_cluster_share".into(), json!(q.largest_cluster_share));
        m.insert("pca_dims".into(), json!(q.pca_dims));
        m.insert("pca_explained_variance".into(), json!(q.pca_explained_variance));
        m.insert("k_candidates".into(), json!(q.k_candidates.iter().map(|(k, s, l)| json!({"k": k, "silhouette": s, "largest_share": l})).collect::<Vec<_>>()));
    }
    Outcome {
        status: "succeeded",
        error: None,
        n_items: n as i32,
        n_clusters: result.n_clusters as i32,
        n_outliers: n_outliers as i32,
        quality,
        timings: Value::Object(timings),
    }
}

/// The WHERE clause shared by every query over the job's items, and its parameters
/// ($1 team, $2 window start, $3 window end, then the filters').
fn item_condition<'a>(job: &Job, window: Window) -> (String, Vec<DatumWithOid<'a>>) {
    let filters = parse_filters(&job.filters).or_raise();
    let (filter_sql, filter_params) = to_sql(&filters, 4);
    let mut args: Vec<DatumWithOid> = vec![job.team_id.into(), window.start.into(), window.end.into()];
    for p in filter_params {
        args.push(match p {
            SqlParam::Text(s) => s.into(),
            SqlParam::TextArray(v) => v.into(),
            SqlParam::Float(x) => x.into(),
        });
    }
    (format!("s.team_id = $1 AND s.ts >= $2 AND s.ts < $3 AND ({filter_sql})"), args)
}

fn read_items(job: &Job, params: &Params, window: Window) -> Read {
    let kind = source_embedding_kind(job.source);
    // `source` is PostgreSQL's own quoting of a regclass; filter values are parameters.
    let source = &job.source_name;
    let (condition, mut args) = item_condition(job, window);
    let in_window = Spi::get_one_with_args::<i64>(&format!("SELECT count(*) FROM {source} s WHERE {condition}"), &args)
        .or_raise()
        .unwrap_or(0);
    let sampled = in_window > params.max_items as i64;
    let sample_sql = if sampled {
        // A uniform sample that the seed fixes: the max_items smallest hashes of the ids.
        let seed_param = args.len() + 1;
        args.push(params.seed.to_string().into());
        args.push((params.max_items as i64).into());
        format!(
            " AND s.item_id IN (SELECT s.item_id FROM {source} s WHERE {condition} ORDER BY md5(s.item_id || ${seed_param}), s.item_id LIMIT ${})",
            seed_param + 1
        )
    } else {
        String::new()
    };
    let query = format!("SELECT s.item_id, s.trace_id, s.ts, s.embedding FROM {source} s WHERE {condition}{sample_sql} ORDER BY s.item_id");
    let mut by_dim: HashMap<usize, Items> = HashMap::new();
    let (mut skipped_null, mut skipped_non_finite) = (0i64, 0i64);
    Spi::connect(|client| {
        let mut cursor = client.try_open_cursor(query.as_str(), &args)?;
        loop {
            let mut table = cursor.fetch(FETCH_ROWS)?;
            if table.is_empty() {
                break;
            }
            // Advance with next() but read through the table: its raw datums are not copied.
            while table.next().is_some() {
                let Some(id) = table.get::<String>(1)? else { continue };
                let mut values: Vec<f32> = Vec::new();
                let usable = match table.get_datum_by_ordinal(4)? {
                    Some(d) => unsafe { decode_embedding(d, kind, &mut values) },
                    None => false,
                };
                if !usable || values.is_empty() {
                    skipped_null += 1;
                    continue;
                }
                if values.iter().any(|x| !x.is_finite()) {
                    skipped_non_finite += 1;
                    continue;
                }
                let items = by_dim.entry(values.len()).or_default();
                items.ids.push(id);
                items.trace_ids.push(table.get::<String>(2)?);
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
    let dim = by_dim.iter().max_by_key(|(d, items)| (items.ids.len(), **d)).map(|(d, _)| *d).unwrap_or(0);
    let items = by_dim.remove(&dim).unwrap_or_default();
    let skipped_dimension = by_dim.values().map(|i| i.ids.len() as i64).sum();
    Read { items, dim, in_window, sampled, skipped_null, skipped_non_finite, skipped_dimension }
}

/// Reads an embedding datum without copying it through a Rust array type: detoast, read
/// the floats, free the detoasted copy. Returns false for a value it cannot use.
unsafe fn decode_embedding(datum: pg_sys::Datum, kind: EmbeddingKind, out: &mut Vec<f32>) -> bool {
    let raw = datum.cast_mut_ptr::<pg_sys::varlena>();
    let detoasted = pg_sys::pg_detoast_datum(raw);
    let ok = match kind {
        EmbeddingKind::Real | EmbeddingKind::Double => {
            let Some(ptr) = std::ptr::NonNull::new(detoasted.cast::<pg_sys::ArrayType>()) else { return false };
            let mut array = pgrx::array::RawArray::from_ptr(ptr);
            if array.dims().len() != 1 || array.nulls().is_some() {
                false
            } else if kind == EmbeddingKind::Real {
                out.extend_from_slice(array.data::<f32>().as_ref());
                true
            } else {
                out.extend(array.data::<f64>().as_ref().iter().map(|&x| x as f32));
                true
            }
        }
        EmbeddingKind::Vector | EmbeddingKind::HalfVec => {
            // pgvector: 4-byte varlena header, int16 dim, int16 unused, then the values.
            let base = detoasted.cast::<u8>();
            let total = pgrx::varlena::varsize_any(detoasted);
            let dim = usize::from(std::ptr::read_unaligned(base.add(4).cast::<u16>()));
            let width = if kind == EmbeddingKind::Vector { 4 } else { 2 };
            if total < 8 + dim * width {
                false
            } else if kind == EmbeddingKind::Vector {
                out.extend((0..dim).map(|i| std::ptr::read_unaligned(base.add(8 + 4 * i).cast::<f32>())));
                true
            } else {
                out.extend((0..dim).map(|i| half_to_f32(std::ptr::read_unaligned(base.add(8 + 2 * i).cast::<u16>()))));
                true
            }
        }
    };
    if detoasted != raw {
        pg_sys::pfree(detoasted.cast());
    }
    ok
}

/// IEEE 754 binary16 to f32.
fn half_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 if frac == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f32.powi(exp - 15),
    }
}

/// Offline labels from the text of each cluster's items nearest its centre.
fn label(job: &Job, ids: &[String], result: &Clustering) -> Vec<llm_clusters_engine::cluster::labels::ClusterLabel> {
    let chosen: Vec<usize> = (0..ids.len()).filter(|&i| result.rank[i] < LABEL_ITEMS_PER_CLUSTER).collect();
    let wanted: Vec<String> = chosen.iter().map(|&i| ids[i].clone()).collect();
    let source = &job.source_name;
    let texts: HashMap<String, String> = Spi::connect(|client| {
        client
            .select(
                &format!("SELECT s.item_id, s.content FROM {source} s WHERE s.team_id = $1 AND s.item_id = ANY($2)"),
                None,
                &[job.team_id.into(), wanted.into()],
            )?
            .map(|row| Ok((row.get::<String>(1)?.unwrap_or_default(), row.get::<String>(2)?.unwrap_or_default())))
            .collect::<Result<HashMap<_, _>, pgrx::spi::Error>>()
    })
    .or_raise();
    let mut by_rank: Vec<(i32, u32, &str)> = chosen
        .iter()
        .filter_map(|&i| texts.get(&ids[i]).map(|t| (result.labels[i], result.rank[i], t.as_str())))
        .collect();
    by_rank.sort_by_key(|(c, r, _)| (*c, *r));
    let docs: Vec<(i32, &str)> = by_rank.iter().map(|(c, _, t)| (*c, *t)).collect();
    let mut snippets: Vec<Vec<&str>> = vec![Vec::new(); result.n_clusters];
    for (c, _, t) in &by_rank {
        if *c >= 0 && snippets[*c as usize].len() < 3 && !t.is_empty() {
            snippets[*c as usize].push(t);
        }
    }
    let mut sizes = vec![0usize; result.n_clusters];
    result.labels.iter().filter(|&&l| l >= 0).for_each(|&l| sizes[l as usize] += 1);
    label_clusters(&docs, result.n_clusters, &sizes, &snippets)
}

fn write_results(
    job: &Job,
    run_id: i64,
    ids: &[String],
    trace_ids: &[Option<String>],
    ts: &[Option<TimestampWithTimeZone>],
    result: &Clustering,
    labels: &[llm_clusters_engine::cluster::labels::ClusterLabel],
) {
    let n = ids.len();
    let n_outliers = result.labels.iter().filter(|&&l| l < 0).count();
    let mut cluster_ids: Vec<i32> = (0..result.n_clusters as i32).collect();
    let mut titles: Vec<String> = labels.iter().map(|l| l.title.clone()).collect();
    let mut descriptions: Vec<String> = labels.iter().map(|l| l.description.clone()).collect();
    let mut keywords: Vec<String> = labels.iter().map(|l| l.keywords.join("\u{1f}")).collect();
    let mut centroids: Vec<Option<String>> = result.centroids.iter().map(|c| Some(float_array_text(c))).collect();
    let mut radius: Vec<Option<f64>> = result.radius.iter().map(|r| r.is_finite().then_some(f64::from(*r))).collect();
    let mut xs: Vec<f64> = result.centroid_coords.iter().map(|c| f64::from(c[0])).collect();
    let mut ys: Vec<f64> = result.centroid_coords.iter().map(|c| f64::from(c[1])).collect();
    if n_outliers > 0 {
        let (sx, sy) = result.labels.iter().zip(&result.coords).filter(|(l, _)| **l < 0).fold((0.0, 0.0), |a, (_, c)| (a.0 + f64::from(c[0]), a.1 + f64::from(c[1])));
        cluster_ids.push(-1);
        titles.push(OUTLIERS_TITLE.into());
        descriptions.push(format!("{n_outliers} items farther from every cluster centre than that cluster's radius."));
        keywords.push(String::new());
        centroids.push(None);
        radius.push(None);
        xs.push(sx / n_outliers as f64);
        ys.push(sy / n_outliers as f64);
    }
    Spi::connect_mut(|client| {
        client.update(
            "INSERT INTO llm_clusters.clusters (team_id, run_id, cluster_id, title, description, keywords, size, share, centroid, radius, x, y)
             SELECT $1, $2, c, t, d, CASE WHEN k = '' THEN '{}'::text[] ELSE string_to_array(k, E'\\x1f') END, 0, 0, cen::real[], r, x, y
             FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::float8[], $10::float8[]) AS u(c, t, d, k, cen, r, x, y)",
            None,
            &[
                job.team_id.into(),
                run_id.into(),
                cluster_ids.into(),
                titles.into(),
                descriptions.into(),
                keywords.into(),
                centroids.into(),
                radius.into(),
                xs.into(),
                ys.into(),
            ],
        )?;
        for start in (0..n).step_by(WRITE_BATCH) {
            let end = (start + WRITE_BATCH).min(n);
            let r = start..end;
            client.update(
                "INSERT INTO llm_clusters.assignments (team_id, run_id, item_id, trace_id, cluster_id, x, y, distance, rank, ts)
                 SELECT $1, $2, i, t, c, x, y, d, r, ts
                 FROM unnest($3::text[], $4::text[], $5::int[], $6::float8[], $7::float8[], $8::float8[], $9::int[], $10::timestamptz[]) AS u(i, t, c, x, y, d, r, ts)",
                None,
                &[
                    job.team_id.into(),
                    run_id.into(),
                    ids[r.clone()].to_vec().into(),
                    trace_ids[r.clone()].to_vec().into(),
                    result.labels[r.clone()].to_vec().into(),
                    result.coords[r.clone()].iter().map(|c| f64::from(c[0])).collect::<Vec<_>>().into(),
                    result.coords[r.clone()].iter().map(|c| f64::from(c[1])).collect::<Vec<_>>().into(),
                    result.distance[r.clone()].iter().map(|&d| f64::from(d)).collect::<Vec<_>>().into(),
                    result.rank[r.clone()].iter().map(|&x| x as i32).collect::<Vec<_>>().into(),
                    ts[r.clone()].to_vec().into(),
                ],
            )?;
            check_interrupts().or_raise();
        }
        Ok::<_, pgrx::spi::Error>(())
    })
    .or_raise();
    update_metrics(job, run_id, n);
}

/// Size, share and metrics as SQL aggregates over the run's assignments joined to the
/// job's source (see the README for the definitions).
fn update_metrics(job: &Job, run_id: i64, n: usize) {
    let source = &job.source_name;
    Spi::run_with_args(
        &format!(
            "UPDATE llm_clusters.clusters c SET size = m.size, share = m.size::float8 / $2,
                    avg_cost_usd = m.avg_cost, avg_latency_s = m.avg_latency, avg_tokens = m.avg_tokens,
                    error_rate = m.error_rate, total_cost_usd = m.total_cost, p95_latency_s = m.p95_latency
             FROM (SELECT a.cluster_id, count(*) AS size, avg(s.cost_usd) AS avg_cost, avg(s.latency_s) AS avg_latency,
                          avg(s.tokens) AS avg_tokens, avg(coalesce(s.is_error, false)::int) AS error_rate,
                          sum(s.cost_usd) AS total_cost,
                          percentile_cont(0.95) WITHIN GROUP (ORDER BY s.latency_s) AS p95_latency
                   FROM llm_clusters.assignments a
                   JOIN {source} s ON s.team_id = a.team_id AND s.item_id = a.item_id
                   WHERE a.run_id = $1
                   GROUP BY a.cluster_id) m
             WHERE c.run_id = $1 AND c.cluster_id = m.cluster_id"
        ),
        &[run_id.into(), (n as f64).into()],
    )
    .or_raise();
}

/// `{a,b,c}` text of a float vector, cast to real[] in SQL (one array parameter per cluster).
fn float_array_text(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", parts.join(","))
}
