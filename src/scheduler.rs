//! Daily runs: `llm_clusters.run_due_jobs()` (what pg_cron calls) and the background
//! worker that does the same by itself when the library is preloaded.
//!
//! A daily cycle starts at `llm_clusters.daily_run_time` (UTC). A job is due when it is
//! enabled, was enabled before the cycle began, and has no run in the cycle; a unique index
//! on `runs (team_id, job_id, cycle)` and the lock on the job's row make that hold whoever
//! calls.

use crate::embed::{embed_pending_of, embed_summaries_of};
use crate::error::OrRaise;
use crate::gucs::{
    daily_run_time, job_time_limit, ASSIGN_INTERVAL, AUTO_EMBED, AUTO_SUMMARIZE, DATABASE, SCHEDULER_ENABLED,
    SCHEDULER_NAPTIME,
};
use crate::isolated::{run_in_own_process, run_of_cycle, Ended, Task};
use crate::pg::{in_subtransaction, pin_search_path, with_time_limit, Batches, Required, TimeLimit};
use crate::run::run;
use crate::summary::summarize_pending_of;
use llm_clusters_engine::cluster::Params;
use llm_clusters_engine::lens::Lens;
use llm_clusters_engine::schedule::{cycle_start, parse_time_of_day};
use llm_clusters_engine::source::Level;
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::JsonB;
use std::time::{Duration, Instant};

const WORKER_TYPE: &str = "llm_clusters scheduler";

/// A job as the scheduler names it: (team, id).
type JobKey = (i32, i32);

/// The (team, id) of the jobs a query selects as `team_id, id`, in its order.
fn job_keys(query: &str, args: &[pgrx::datum::DatumWithOid]) -> Vec<JobKey> {
    Spi::connect(|client| {
        client
            .select(query, None, args)?
            .map(|row| Ok((row.get::<i32>(1)?.required("jobs.team_id"), row.get::<i32>(2)?.required("jobs.id"))))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .or_raise()
}

/// The current cycle: its start, and the same as Unix seconds.
#[derive(Clone, Copy)]
struct Cycle {
    start: TimestampWithTimeZone,
    epoch: i64,
}

/// The start of the current cycle and the jobs due in it, in turns across teams: every
/// team's first due job (by id) before any team's second, and so on, so that one team's
/// many (or slow) jobs hold the worker, which every team shares, at most one job's time
/// (`job_time_limit`) before another team's next job. Within a turn, the team whose last
/// scheduled run started longest ago (or that has none) goes first, then the older job
/// (lower id): with one job per team, id order as before.
fn due_jobs() -> (Cycle, Vec<JobKey>) {
    let run_at = parse_time_of_day(&daily_run_time()).or_raise();
    let now = Spi::get_one::<f64>("SELECT extract(epoch FROM now())::float8").or_raise().required("now()");
    let start = cycle_start(now.floor() as i64, run_at);
    let cycle = Spi::get_one_with_args::<TimestampWithTimeZone>("SELECT to_timestamp($1)", &[(start as f64).into()])
        .or_raise()
        .required("the cycle start");
    let jobs = job_keys(
        "SELECT j.team_id, j.id FROM llm_clusters.jobs j
         WHERE j.enabled AND j.enabled_at <= $1
           AND NOT EXISTS (SELECT 1 FROM llm_clusters.runs r WHERE r.team_id = j.team_id AND r.job_id = j.id AND r.cycle = $1)
         ORDER BY row_number() OVER (PARTITION BY j.team_id ORDER BY j.id),
                  (SELECT max(r.started_at) FROM llm_clusters.runs r
                    WHERE r.team_id = j.team_id AND r.cycle IS NOT NULL) NULLS FIRST,
                  j.id, j.team_id",
        &[cycle.into()],
    );
    (Cycle { start: cycle, epoch: start }, jobs)
}

/// Internal: called by `llm_clusters.run_due_jobs()`. Called on its own (as pg_cron
/// does), each job runs in a process of its own (`isolated`), as the session's user and
/// role, so that one over `llm_clusters.job_time_limit` is ended for good; inside a
/// transaction block, where the runs must be part of the caller's transaction, each runs
/// in its own subtransaction of this session, where only the cancel applies. Either way a
/// job that cannot even start is reported with a WARNING and the others still run.
#[pg_extern(volatile, parallel_unsafe, name = "_run_due_jobs")]
#[search_path(pg_catalog, pg_temp)]
pub fn run_due_jobs() -> SetOfIterator<'static, i64> {
    let (cycle, jobs) = due_jobs();
    let own_processes = !unsafe { pg_sys::IsTransactionBlock() };
    let caller = unsafe { (pg_sys::GetSessionUserId(), pg_sys::GetUserId()) };
    let interrupted = || unsafe {
        std::ptr::read_volatile(&raw const pg_sys::QueryCancelPending) != 0
            || std::ptr::read_volatile(&raw const pg_sys::ProcDiePending) != 0
    };
    let runs: Vec<i64> = jobs
        .into_iter()
        .filter(|&(team_id, _)| !own_processes || team_turn(team_id))
        .filter_map(|(team_id, job_id)| {
            let outcome = if own_processes {
                run_in_own_process(team_id, job_id, cycle.epoch, caller, Task::Run { ai_labels: true }, &interrupted)
                    .and_then(|ended| {
                        let run = in_subtransaction(|| run_of_cycle(team_id, job_id, cycle.start, &ended))?;
                        // A cancel of this session: its own interrupt check raises it now.
                        pg_sys::check_for_interrupts!();
                        Ok(run)
                    })
            } else {
                with_time_limit(job_time_limit(), || run(Some(team_id), job_id, cycle.start, Some(cycle.start), true))
            };
            outcome.unwrap_or_else(|message| {
                pgrx::warning!("job {job_id} of team {team_id} could not run: {message}");
                None
            })
        })
        .collect();
    SetOfIterator::new(runs)
}

/// Whether this session may run the due jobs of `team_id` in processes of their own: one
/// session of a team at a time does (it holds the team's row of `job_cap_locks` to the end
/// of its transaction; the others leave the team's jobs to it). Each session took another
/// of the team's due jobs, so a team admin calling run_due_jobs() from as many sessions as
/// the team has jobs held as many background worker slots, which every team's scheduled
/// runs need (the scheduler's own processes then found none free).
fn team_turn(team_id: i32) -> bool {
    Spi::get_one_with_args::<bool>(
        "SELECT NOT EXISTS (SELECT FROM llm_clusters.job_cap_locks WHERE team_id = $1)
             OR (SELECT count(*) > 0 FROM (SELECT FROM llm_clusters.job_cap_locks WHERE team_id = $1
                                           FOR UPDATE SKIP LOCKED) l)",
        &[team_id.into()],
    )
    .or_raise()
        == Some(true)
}

/// Registers the worker; called from `_PG_init` while the library is being preloaded.
pub fn register() {
    BackgroundWorkerBuilder::new(WORKER_TYPE)
        .set_type(WORKER_TYPE)
        .set_library("llm_clusters")
        .set_function("llm_clusters_scheduler_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        // If the worker dies (an ERROR that escaped, a crash), the postmaster starts it again.
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
}

fn shutdown_requested() -> bool {
    unsafe { std::ptr::read_volatile(&raw const pg_sys::ShutdownRequestPending) != 0 }
}

fn report_activity(text: &str) {
    if let Ok(c) = std::ffi::CString::new(text) {
        unsafe { pg_sys::pgstat_report_activity(pg_sys::BackendState::STATE_RUNNING, c.as_ptr()) };
    }
}

fn extension_installed() -> bool {
    Spi::get_one::<bool>("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'llm_clusters')")
        .or_raise()
        .unwrap_or(false)
}

/// Places the items that arrived since each enabled job's latest succeeded run, each job
/// in a process of its own (`isolated`), as runs are: placing reads the job's source as its
/// owner, so it runs the owner's code, which may catch the cancel of
/// `llm_clusters.job_time_limit` and go on. In the worker itself, one team's source that
/// did so held the worker, which every team shares, for good: no team's job ran again, and
/// not even `pg_terminate_backend` ended it. The job's process is terminated instead.
fn assign_cycle() {
    let jobs: Vec<JobKey> = BackgroundWorker::transaction(|| {
        if !extension_installed() {
            return Vec::new();
        }
        job_keys(
            "SELECT j.team_id, j.id FROM llm_clusters.jobs j WHERE j.enabled
               AND EXISTS (SELECT 1 FROM llm_clusters.runs r WHERE r.team_id = j.team_id AND r.job_id = j.id AND r.status = 'succeeded')
             ORDER BY j.id, j.team_id",
            &[],
        )
    });
    let none = (pg_sys::InvalidOid, pg_sys::InvalidOid);
    for (team_id, job_id) in jobs {
        if shutdown_requested() {
            return;
        }
        report_activity(&format!("llm_clusters: assigning new items of job {job_id}"));
        match run_in_own_process(team_id, job_id, 0, none, Task::Assign, &shutdown_requested) {
            Ok(Ended::Finished) => {}
            Ok(Ended::OverLimit) => pgrx::warning!(
                "llm_clusters scheduler: assign_pending({job_id}) of team {team_id} stopped by llm_clusters.job_time_limit: it did not stop at its cancel, and its process was terminated"
            ),
            Ok(Ended::Interrupted) => return,
            Err(message) => pgrx::warning!("llm_clusters scheduler: assign_pending({job_id}) could not run: {message}"),
        }
    }
    report_activity("llm_clusters: idle");
}

/// Items embedded or summarised per transaction before a run, and at most this many per
/// job and cycle (the rest wait for the next cycle; `embed_pending` and
/// `summarize_pending` can be called by hand).
const PREPARE_BATCH: i32 = 256;
const PREPARE_MAX: i64 = 200_000;

/// A job's level and lens (`params.lens`, or the summary lens of `params.embed = "summary"`).
fn job_inputs((team_id, job_id): JobKey) -> Option<(String, Lens)> {
    BackgroundWorker::transaction(|| {
        Spi::get_two_with_args::<String, JsonB>(
            "SELECT level, params FROM llm_clusters.jobs WHERE team_id = $2 AND id = $1",
            &[job_id.into(), team_id.into()],
        )
        .ok()
        .and_then(|(level, params)| Some((level?, Params::from_json(&params?.0).ok()?.lens)))
    })
}

/// Before a job's run: `work` (summarize_pending, embed_pending or embed_summaries) over
/// the job's team and level, a transaction per batch, so that a failure or a shutdown
/// keeps what was done. Only the job's team: the worker is every team's, and another
/// team's backlog (any number of events an admin INSERTs, dated 2099 to come first) was
/// embedded before this job ran, up to PREPARE_MAX per job of every team, every cycle.
/// It goes on while a batch writes a whole batch of rows, whether or not they count (an
/// item without text gets a row without a vector, and is done), and for at most
/// `llm_clusters.job_time_limit` (`deadline`, shared by all of a job's preparation): the
/// worker is every team's, and a team that INSERTs items as fast as they are embedded,
/// or whose items are slow to summarise, held it for PREPARE_MAX items per job (hours
/// with the built-in model) while every later job of every team waited.
fn prepare(
    level: &str,
    what: &str,
    deadline: Option<Instant>,
    work: &(dyn Fn(&str, i32) -> Batches + std::panic::RefUnwindSafe),
) {
    let mut total = 0i64;
    while total < PREPARE_MAX && !shutdown_requested() {
        let limit = match deadline.map(|d| d.saturating_duration_since(Instant::now())) {
            None => TimeLimit { ms: 0, ..job_time_limit() },
            Some(left) if left.is_zero() => {
                pgrx::log!("llm_clusters scheduler: {what} {level} items stopped at llm_clusters.job_time_limit");
                break;
            }
            // At least 1 ms: 0 would mean no limit.
            Some(left) => {
                TimeLimit { ms: i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1), ..job_time_limit() }
            }
        };
        report_activity(&format!("llm_clusters: {what} {level} items"));
        match BackgroundWorker::transaction(|| with_time_limit(limit, || work(level, PREPARE_BATCH))) {
            Ok(done) => {
                total += done.written;
                if done.written < i64::from(PREPARE_BATCH) {
                    break;
                }
            }
            Err(message) => {
                pgrx::warning!("llm_clusters scheduler: {what} {level} items failed: {message}");
                break;
            }
        }
    }
    if total > 0 {
        pgrx::log!("llm_clusters scheduler: {what} {total} {level} items done");
    }
}

/// One pass: find the due jobs, then run each in its own transaction, so that a run's
/// results are committed before the next job starts and a shutdown loses at most one run.
fn run_cycle() {
    let due = BackgroundWorker::transaction(|| {
        if !extension_installed() {
            return None;
        }
        in_subtransaction(due_jobs)
            .map_err(|message| pgrx::warning!("llm_clusters scheduler: cannot list due jobs: {message}"))
            .ok()
    });
    let Some((cycle, jobs)) = due else { return };
    for (team_id, job_id) in jobs {
        if shutdown_requested() {
            return;
        }
        if let Some((level, lens)) = job_inputs((team_id, job_id)) {
            let limit = job_time_limit();
            let deadline = (limit.ms > 0).then(|| Instant::now() + Duration::from_millis(limit.ms as u64));
            let summarized = Level::parse(&level).is_ok_and(Level::has_summaries);
            let team = Some(team_id);
            if AUTO_SUMMARIZE.get() && summarized {
                prepare(&level, "summarising", deadline, &|level, n| summarize_pending_of(team, level, n));
            }
            match (AUTO_EMBED.get(), lens) {
                (true, Lens::Summary) => prepare(&level, "embedding the summaries of", deadline, &|level, n| {
                    embed_summaries_of(team, level, n)
                }),
                (true, lens) => {
                    prepare(&level, &format!("embedding ({} lens)", lens.as_str()), deadline, &|level, n| {
                        embed_pending_of(team, level, n, lens.as_str())
                    })
                }
                (false, _) => {}
            }
        }
        report_activity(&format!("llm_clusters: running job {job_id} of team {team_id}"));
        let none = (pg_sys::InvalidOid, pg_sys::InvalidOid);
        match run_in_own_process(team_id, job_id, cycle.epoch, none, Task::Run { ai_labels: true }, &shutdown_requested)
        {
            Ok(ended) => BackgroundWorker::transaction(|| {
                match in_subtransaction(|| run_of_cycle(team_id, job_id, cycle.start, &ended)) {
                    Ok(Some(run_id)) => {
                        pgrx::log!("llm_clusters scheduler: job {job_id} of team {team_id} ran as run {run_id}")
                    }
                    Ok(None) => {}
                    Err(message) => pgrx::warning!("llm_clusters scheduler: job {job_id} of team {team_id}: {message}"),
                }
            }),
            Err(message) => {
                pgrx::warning!("llm_clusters scheduler: job {job_id} of team {team_id} could not run: {message}")
            }
        }
    }
    report_activity("llm_clusters: idle");
}

/// The worker's entry point.
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn llm_clusters_scheduler_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = DATABASE.get().map(|c| c.to_string_lossy().into_owned()).unwrap_or_else(|| "postgres".into());
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    BackgroundWorker::transaction(pin_search_path);
    pgrx::log!("llm_clusters scheduler started on database \"{database}\"");
    let mut last_assign: Option<Instant> = None;
    loop {
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        if SCHEDULER_ENABLED.get() {
            run_cycle();
            let interval = Duration::from_secs(ASSIGN_INTERVAL.get().max(0) as u64);
            if !interval.is_zero() && last_assign.is_none_or(|t| t.elapsed() >= interval) {
                assign_cycle();
                last_assign = Some(Instant::now());
            }
        }
        let nap = Duration::from_secs(SCHEDULER_NAPTIME.get().max(1) as u64);
        if shutdown_requested() || !BackgroundWorker::wait_latch(Some(nap)) {
            break;
        }
    }
    // Non-zero: the postmaster starts the worker again unless it is shutting down itself
    // (pg_terminate_backend of the worker is not a way to turn the scheduler off; the
    // setting llm_clusters.scheduler_enabled is).
    pgrx::log!("llm_clusters scheduler stopping");
    unsafe { pg_sys::proc_exit(1) };
}
