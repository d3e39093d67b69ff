//! Configuration settings (GUCs). Every setting of the extension is defined here.

use crate::error::raise;
use crate::pg::TimeLimit;
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::PostgresGucEnum;
use std::ffi::CString;

/// Largest payload `capture()` accepts, in megabytes of jsonb.
pub static MAX_CAPTURE_MB: GucSetting<i32> = GucSetting::<i32>::new(64);

/// Payload one team may store per day (UTC) through capture(), in MB.
pub static MAX_TEAM_CAPTURE_MB_PER_DAY: GucSetting<i32> = GucSetting::<i32>::new(10_240);

/// Memory one run may use for embeddings and the engine's work on them, in MB.
pub static MAX_MEMORY_MB: GucSetting<i32> = GucSetting::<i32>::new(4096);

/// `llm_clusters.max_memory_mb` in bytes.
pub fn max_memory_bytes() -> usize {
    usize::try_from(MAX_MEMORY_MB.get()).unwrap_or(1) << 20
}

/// The centroids read from a run's stored groups, held to `max_memory_mb` as they are read:
/// admins insert rows into their runs' clusters and themes, each centroid bounded, their
/// number not, and zeros compress to nothing on disk (20,000 planted rows, 15 MB, made one
/// assign 2.6 GB).
pub struct CentroidBudget {
    run_id: i64,
    /// What the run's rows are, for the error: "clusters", "clusters and themes".
    groups: &'static str,
    budget: usize,
    left: usize,
}

impl CentroidBudget {
    pub fn new(run_id: i64, groups: &'static str) -> Self {
        let budget = max_memory_bytes();
        CentroidBudget { run_id, groups, budget, left: budget }
    }

    /// Refuses, before a row is read, rows whose memory passes the budget: `bytes` is what
    /// the query that reads them would hold, summed by the database ([`ROW_ESTIMATE`] per
    /// row of the run's groups). Counting centroids alone as they are read left the rest of
    /// a row free: admins planted rows with an empty centroid and a 1,000-character title
    /// (keywords too, for the lineage's read), none of which the budget saw, and 200,000 of
    /// them made one assign, which readers call, 770 MB; the worker's job processes read the
    /// same rows, and one that the OOM killer ends takes every backend with it.
    pub fn check_stored(&mut self, bytes: i64) {
        refuse_past_memory(
            bytes,
            |limit| format!("run {}'s {} take more than {limit} to read", self.run_id, self.groups),
            &self.hint(),
        );
    }

    /// How to be rid of the rows that pass the budget.
    fn hint(&self) -> String {
        format!(
            "Runs make a few hundred clusters: mark the rows inserted into the run's {} deleted (UPDATE ... SET delete_requested = true).",
            self.groups
        )
    }

    /// `centroid`, counted against the budget; past it, 54000.
    pub fn hold(&mut self, centroid: Vec<f32>) -> Vec<f32> {
        match self.left.checked_sub(centroid.len() * std::mem::size_of::<f32>()) {
            Some(left) => self.left = left,
            None => raise(
                EngineError::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "the centroids of run {}'s {} take more than llm_clusters.max_memory_mb ({} MB)",
                        self.run_id,
                        self.groups,
                        self.budget >> 20
                    ),
                )
                .with_hint(self.hint()),
            ),
        }
        centroid
    }
}

/// Refuses (54000) to read rows that take `bytes` (summed by the database before they are
/// read) when that passes `llm_clusters.max_memory_mb`: what admins store in their rows is
/// bounded per row, not in rows, and a backend that the OOM killer ends takes every
/// backend of every team with it. `message` says what, given the limit's words; `hint`
/// says how to be rid of the rows.
pub fn refuse_past_memory(bytes: i64, message: impl FnOnce(String) -> String, hint: &str) {
    let budget = max_memory_bytes();
    if usize::try_from(bytes).map_or(true, |b| b > budget) {
        let limit = format!("llm_clusters.max_memory_mb ({} MB)", budget >> 20);
        raise(EngineError::new(ErrorKind::LimitExceeded, message(limit)).with_hint(hint));
    }
}

/// What one stored cluster or theme row takes in memory once read, as SQL over the row
/// (alias `g`): its centroid, title and keywords, and 128 bytes for the row itself.
pub const ROW_ESTIMATE: &str = "(128 + 4 * coalesce(pg_catalog.cardinality(g.centroid), 0) + pg_catalog.octet_length(g.title) + pg_catalog.octet_length(g.keywords::text))::int8";

/// What the rows of run `run_id` of `team_id` take once read: [`ROW_ESTIMATE`] summed over
/// each of `rows`, a `FROM ... g WHERE ...` clause with `$1` the run and `$2` the team.
pub fn stored_bytes(
    client: &pgrx::spi::SpiClient<'_>,
    rows: &[&str],
    run_id: i64,
    team_id: i32,
) -> Result<i64, pgrx::spi::Error> {
    let sums: Vec<String> = rows.iter().map(|r| format!("(SELECT coalesce(sum({ROW_ESTIMATE}), 0) {r})")).collect();
    Ok(client
        .select(&format!("SELECT ({})::int8", sums.join(" + ")), None, &[run_id.into(), team_id.into()])?
        .first()
        .get::<i64>(1)?
        .unwrap_or(0))
}

/// The budget of one page or text a function builds (trace_html, report_html, summaries).
pub static MAX_OUTPUT_MB: GucSetting<i32> = GucSetting::<i32>::new(16);

/// Most jobs one team may have.
pub static MAX_JOBS_PER_TEAM: GucSetting<i32> = GucSetting::<i32>::new(5);

/// The database the background worker connects to (postmaster start only).
pub static DATABASE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"postgres"));

/// Whether the background worker runs the daily cycle.
pub static SCHEDULER_ENABLED: GucSetting<bool> = GucSetting::<bool>::new(true);

/// UTC time of day at which each daily cycle starts, `HH:MM` or `HH:MM:SS`.
pub static DAILY_RUN_TIME: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"00:15"));

/// Seconds the worker sleeps between checks for due jobs.
pub static SCHEDULER_NAPTIME: GucSetting<i32> = GucSetting::<i32>::new(60);

/// Seconds between the worker's passes of assign_pending() over every enabled job (0: never).
pub static ASSIGN_INTERVAL: GucSetting<i32> = GucSetting::<i32>::new(3600);

/// Link of a dot in report_html(), with {item_id}, {trace_id} and {run_id} placeholders.
pub static REPORT_ITEM_URL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// Consent: nothing leaves the database for an AI service (a local one included) unless this is on.
pub static AI_DATA_PROCESSING: GucSetting<bool> = GucSetting::<bool>::new(false);
pub static AI_BASE_URL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static AI_CHAT_MODEL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static AI_EMBEDDING_MODEL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static AI_API_KEY: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static AI_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(30_000);
pub static AI_BATCH_SIZE: GucSetting<i32> = GucSetting::<i32>::new(64);
/// What embed_text, embed_pending and the worker's auto-embed use.
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Embedder {
    /// all-MiniLM-L6-v2 computed in the backend.
    #[name = c"builtin"]
    Builtin,
    /// The OpenAI-compatible service (needs consent).
    #[name = c"service"]
    Service,
    /// The hashed bag-of-words (no model files).
    #[name = c"hash"]
    Hash,
}
pub static EMBEDDER: GucSetting<Embedder> = GucSetting::<Embedder>::new(Embedder::Builtin);
/// Directory of the built-in model's files (unset: under PostgreSQL's share directory).
pub static MODEL_DIR: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
/// Threads one backend may use for the built-in model.
pub static EMBED_THREADS: GucSetting<i32> = GucSetting::<i32>::new(1);
/// How the built-in model computes its linear maps.
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum EmbedPrecision {
    /// Integer products (weights per output channel, activations per row). The default:
    /// faster, with the clustering quality of f32 on the labelled sets (docs/benchmarks.md).
    #[name = c"int8"]
    Int8,
    /// The published f32 weights: sentence-transformers' vectors to 1e-6.
    #[name = c"f32"]
    F32,
}
pub static EMBED_PRECISION: GucSetting<EmbedPrecision> = GucSetting::<EmbedPrecision>::new(EmbedPrecision::Int8);

/// Longest one job's scheduled work (a run, or placing new items) may take, in ms (0: no limit).
pub static JOB_TIME_LIMIT: GucSetting<i32> = GucSetting::<i32>::new(3_600_000);

/// `llm_clusters.job_time_limit`, as the time limit a job's work runs under.
pub fn job_time_limit() -> TimeLimit {
    TimeLimit { setting: "llm_clusters.job_time_limit", ms: JOB_TIME_LIMIT.get() }
}
/// The privacy floor: a cluster, theme or Outliers group whose items come from fewer distinct
/// users (`distinct_id`) shows no text drawn from its items (1: off).
pub static MIN_DISTINCT_USERS: GucSetting<i32> = GucSetting::<i32>::new(1);

/// Whether the worker embeds items that have no embedding before each run.
pub static AUTO_EMBED: GucSetting<bool> = GucSetting::<bool>::new(true);

/// Whether the background worker summarises items without a summary before each run.
pub static AUTO_SUMMARIZE: GucSetting<bool> = GucSetting::<bool>::new(true);

/// Set by `_PG_init` while the server preloads the library (shared_preload_libraries):
/// then every backend and worker, forked from the postmaster, has the settings defined
/// before its first query.
static PRELOADED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn mark_preloaded() {
    PRELOADED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// `llm_clusters.ai_api_key` (empty when unset), refused unless the library is preloaded.
/// Until a session loads the library, a setting from postgresql.conf is a placeholder
/// that any role reads (`SHOW llm_clusters.ai_api_key`, `current_setting`): without
/// preloading, every login of every database saw the key in a fresh session. The key is
/// not used then, so the set-up is fixed before it is relied on.
pub fn ai_api_key() -> String {
    let key = text(&AI_API_KEY);
    if !key.is_empty() && !PRELOADED.load(std::sync::atomic::Ordering::SeqCst) {
        raise(
            EngineError::new(
                ErrorKind::NotConfigured,
                "llm_clusters.ai_api_key is set but llm_clusters is not in shared_preload_libraries: until a session loads the library, any role reads the key with SHOW llm_clusters.ai_api_key",
            )
            .with_hint("Add llm_clusters to shared_preload_libraries and restart (then the key is superuser-only in every session), and replace the key: it may have been read."),
        );
    }
    key
}

/// A string setting's text (empty when unset).
pub fn text(setting: &GucSetting<Option<CString>>) -> String {
    setting.get().map(|c| c.to_string_lossy().trim().to_string()).unwrap_or_default()
}

/// `llm_clusters.max_output_mb` in bytes.
pub fn output_bytes() -> i64 {
    i64::from(MAX_OUTPUT_MB.get()) << 20
}

/// Characters of events' texts a page may show within `llm_clusters.max_output_mb`: a
/// character can take 6 bytes in the page (`<` is written `\u003c`).
pub fn page_text_chars() -> usize {
    usize::try_from(output_bytes() / 6).unwrap_or(usize::MAX)
}

/// The current `llm_clusters.daily_run_time` text.
pub fn daily_run_time() -> String {
    text(&DAILY_RUN_TIME)
}

/// Settings only the postmaster may set; defined only while the library is preloaded
/// (defining them later makes CREATE EXTENSION fail).
pub fn define_postmaster() {
    GucRegistry::define_string_guc(
        c"llm_clusters.database",
        c"Database the llm_clusters background worker connects to.",
        c"The worker runs the due jobs of this database once a day. Needs a restart to change.",
        &DATABASE,
        GucContext::Postmaster,
        GucFlags::default(),
    );
}

fn define_ai() {
    GucRegistry::define_bool_guc(
        c"llm_clusters.ai_data_processing",
        c"Consent to send item content (requests and answers) to the service at llm_clusters.ai_base_url, for AI titles, descriptions and embeddings.",
        c"Off: no byte of item content leaves the database server process; titles stay offline. A local server (Ollama, llama.cpp, vLLM on 127.0.0.1) is still such a service and still needs this consent: the database cannot tell where that server sends or logs what it receives. Superusers only.",
        &AI_DATA_PROCESSING,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"llm_clusters.ai_base_url",
        c"Base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1.",
        c"Requests go to {base}/chat/completions and {base}/embeddings.",
        &AI_BASE_URL,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"llm_clusters.ai_chat_model",
        c"Chat model that writes cluster titles and descriptions; empty: offline labels only.",
        c"",
        &AI_CHAT_MODEL,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"llm_clusters.ai_embedding_model",
        c"Embedding model of the AI service, used when llm_clusters.embedder = service.",
        c"",
        &AI_EMBEDDING_MODEL,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"llm_clusters.ai_api_key",
        c"API key sent as a bearer token to the AI service.",
        c"Superusers only; hidden from SHOW ALL and pg_settings for everyone else; never logged or stored.",
        &AI_API_KEY,
        GucContext::Suset,
        GucFlags::SUPERUSER_ONLY | GucFlags::NO_SHOW_ALL,
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.ai_timeout_ms",
        c"Longest an AI request may take, retries after HTTP 429 included.",
        c"",
        &AI_TIMEOUT_MS,
        100,
        600_000,
        GucContext::Suset,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.ai_batch_size",
        c"Texts per embeddings request.",
        c"",
        &AI_BATCH_SIZE,
        1,
        2048,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"llm_clusters.auto_embed",
        c"Whether the background worker embeds items without an embedding before each run.",
        c"With llm_clusters.embedder: the built-in model unless set otherwise.",
        &AUTO_EMBED,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"llm_clusters.auto_summarize",
        c"Whether the background worker summarises items without a summary before each run.",
        c"Offline summaries (llm_clusters.item_summaries), built from the events themselves.",
        &AUTO_SUMMARIZE,
        GucContext::Sighup,
        GucFlags::default(),
    );
}

pub fn define() {
    define_ai();
    GucRegistry::define_enum_guc(
        c"llm_clusters.embedder",
        c"What embeds item texts: builtin (all-MiniLM-L6-v2 in the backend), service (the AI service, needs consent) or hash.",
        c"Used by embed_text(), embed_pending() and the background worker's auto-embed; embeddings.model records which.",
        &EMBEDDER,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"llm_clusters.model_dir",
        c"Directory of the built-in model (config.json, tokenizer.json, model.safetensors).",
        c"Unset: SHAREDIR/extension/llm_clusters/all-MiniLM-L6-v2, where the set-up and the packages install it. Files are checked against their sha256.",
        &MODEL_DIR,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.embed_threads",
        c"Threads one backend may use to compute the built-in model.",
        c"1 computes in the backend's own thread. More threads block every signal; the backend itself still answers cancel.",
        &EMBED_THREADS,
        1,
        64,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"llm_clusters.embed_precision",
        c"How the built-in model computes its matrix products: int8 (integer products, the default) or f32 (the published weights).",
        c"int8 vectors are within cosine 0.99 of the f32 ones on texts of 8 or more tokens (0.985 on the shortest), and cluster as well; embeddings.model is all-MiniLM-L6-v2 either way.",
        &EMBED_PRECISION,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.job_time_limit",
        c"Longest one job's work may take (run_job(), run_due_jobs() and the worker); 0 means no limit.",
        c"A job over its limit is cancelled at its next interrupt check and recorded as failed; the other jobs of the cycle still run.",
        &JOB_TIME_LIMIT,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_bool_guc(
        c"llm_clusters.scheduler_enabled",
        c"Whether the llm_clusters background worker runs the daily cycle.",
        c"Only has an effect when llm_clusters is in shared_preload_libraries. Takes effect on reload.",
        &SCHEDULER_ENABLED,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"llm_clusters.daily_run_time",
        c"UTC time of day (HH:MM or HH:MM:SS) at which each daily cycle starts.",
        c"From then on, the worker and llm_clusters.run_due_jobs() run each enabled job once, over the window ending at that time. Takes effect on reload.",
        &DAILY_RUN_TIME,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"llm_clusters.report_item_url",
        c"Where a dot of report_html() links to, e.g. https://app.example.com/traces/{trace_id}.",
        c"Placeholders {item_id}, {trace_id} and {run_id} are replaced, URL-encoded. Only http(s) and site-relative links are followed. Empty: dots link nowhere.",
        &REPORT_ITEM_URL,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.assign_interval",
        c"Seconds between the background worker's passes of assign_pending() over the enabled jobs.",
        c"Between daily runs, new items are placed into the clusters of their job's latest run. 0 turns it off. Takes effect on reload.",
        &ASSIGN_INTERVAL,
        0,
        7 * 86_400,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.scheduler_naptime",
        c"Seconds the llm_clusters background worker sleeps between checks for due jobs.",
        c"Takes effect on reload.",
        &SCHEDULER_NAPTIME,
        1,
        3600,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    // Superusers only (like ALTER SYSTEM, ALTER DATABASE/ROLE ... SET): a team's admin is the
    // one the floor protects users from, so neither a reader nor an admin may lower it.
    GucRegistry::define_int_guc(
        c"llm_clusters.min_distinct_users",
        c"Privacy floor: a cluster, theme or Outliers group with items from fewer distinct users shows no text drawn from its items.",
        c"Such a group is shown as Small cluster (Small theme) with its size and metrics, without examples, previews, keywords or description. 1 turns it off. Read at every read: no run is needed.",
        &MIN_DISTINCT_USERS,
        1,
        1_000_000,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.max_jobs_per_team",
        c"Most clustering jobs one team may have.",
        c"Enforced on every INSERT into llm_clusters.jobs.",
        &MAX_JOBS_PER_TEAM,
        1,
        10_000,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.max_output_mb",
        c"Largest page one call builds: trace_html and report_html (a summary reads a fixed 256 KiB of each item).",
        c"Events' inputs and outputs are read up to it and shown up to it (in escaped bytes); what is left out is said on the page (its length, or a note in its place).",
        &MAX_OUTPUT_MB,
        1,
        1024,
        GucContext::Suset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.max_memory_mb",
        c"Memory one clustering run may use for its embeddings and the engine's work on them.",
        c"A window with more items than fit (twice their raw float32 size) is clustered through a uniform sample, recorded in runs.quality (sampled_by = max_memory_mb).",
        &MAX_MEMORY_MB,
        16,
        1_048_576,
        GucContext::Suset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.max_capture_mb",
        c"Largest payload, in MB of jsonb, that one capture() call accepts.",
        c"Larger payloads are refused with SQLSTATE 54000 before anything is stored; split them into batches.",
        &MAX_CAPTURE_MB,
        1,
        1024,
        GucContext::Suset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"llm_clusters.max_team_capture_mb_per_day",
        c"Payload, in MB of jsonb, that one team may store per day (UTC) through capture() and capture_with_key().",
        c"A call that would take the team's day over it is refused with SQLSTATE 54000 and stores nothing; llm_clusters.capture_usage shows each day's bytes. Bounds the disk a leaked API key can fill.",
        &MAX_TEAM_CAPTURE_MB_PER_DAY,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_MB,
    );
}
