//! A scheduled job in a background worker process of its own, so that a job over
//! `llm_clusters.job_time_limit` ends for good: its run, or the worker's placing of its new
//! items (`assign_pending`), both of which read the job's source as its owner. The limit first cancels the run (as a
//! statement timeout would), which code in a source can catch (plpgsql's `EXCEPTION WHEN
//! query_canceled`); the termination of its process it cannot: PostgreSQL's SIGTERM
//! handler makes the next interrupt check FATAL. The process that waits (the scheduler, or
//! the session of `run_due_jobs()`) never runs user code: it terminates the job's process
//! `TERMINATE_GRACE` after the limit, waits at most `TERMINATED_WAIT` for it to end, records
//! the run as failed and goes on.

use crate::ai::{apply_labels, call_labels, label_requests};
use crate::assign::assign_job;
use crate::error::{raise, raise_again, OrRaise};
use crate::gucs::{job_time_limit, JOB_TIME_LIMIT};
use crate::jobs::run_team_and_source;
use crate::pg::{
    in_subtransaction, pin_search_path, try_subtransaction, with_lock_timeout, with_time_limit, Required, TimeLimit,
};
use crate::run::run;
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BackgroundWorkerStatus};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use std::time::{Duration, Instant};

const JOB_WORKER_TYPE: &str = "llm_clusters job";
/// How long after the time limit a run that ignored its cancel is terminated.
pub const TERMINATE_GRACE: Duration = Duration::from_secs(5);
/// How often the waiting process looks at the job's process and at its own interrupts.
const POLL: Duration = Duration::from_millis(100);
/// How long a terminated job process is waited for before the waiter goes on without it.
const TERMINATED_WAIT: Duration = Duration::from_secs(10);

/// What a job's process does. Each reads the job's source, so runs the owner's code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Task {
    /// The job's run of the cycle, then (when `ai_labels`) its AI labels.
    Run { ai_labels: bool },
    /// `assign_pending` of the job: the items that arrived since its latest run.
    Assign,
}

impl Task {
    fn code(self) -> u8 {
        match self {
            Task::Run { ai_labels } => u8::from(ai_labels),
            Task::Assign => 2,
        }
    }

    fn of_code(code: i64) -> Option<Task> {
        match code {
            0 | 1 => Some(Task::Run { ai_labels: code == 1 }),
            2 => Some(Task::Assign),
            _ => None,
        }
    }
}

/// What the job's process needs to know: which job, which cycle, as whom, where.
struct Assignment {
    team_id: i32,
    job_id: i32,
    cycle_epoch: i64,
    limit_ms: i32,
    task: Task,
    database: pg_sys::Oid,
    /// The role the job's process logs in as (InvalidOid: the bootstrap superuser), and
    /// the role it then acts as (the caller's current role).
    login: pg_sys::Oid,
    role: pg_sys::Oid,
}

impl Assignment {
    /// The worker's `bgw_extra` (128 bytes): numbers only, separated by spaces.
    fn extra(&self) -> String {
        format!(
            "{} {} {} {} {} {} {}",
            self.cycle_epoch,
            self.limit_ms,
            self.task.code(),
            self.database.to_u32(),
            self.login.to_u32(),
            self.role.to_u32(),
            self.team_id
        )
    }

    fn parse(job_id: i32, extra: &str) -> Option<Assignment> {
        let mut fields = extra.split(' ');
        let mut next = || fields.next().and_then(|f| f.parse::<i64>().ok());
        Some(Assignment {
            cycle_epoch: next()?,
            limit_ms: i32::try_from(next()?).ok()?,
            task: Task::of_code(next()?)?,
            database: pg_sys::Oid::from(u32::try_from(next()?).ok()?),
            login: pg_sys::Oid::from(u32::try_from(next()?).ok()?),
            role: pg_sys::Oid::from(u32::try_from(next()?).ok()?),
            team_id: i32::try_from(next()?).ok()?,
            job_id,
        })
    }
}

/// How a job's process ended, seen from the process that waited for it.
pub enum Ended {
    /// It stopped by itself: its run (if it could start one) is committed.
    Finished,
    /// It passed the time limit by `TERMINATE_GRACE` and was terminated.
    OverLimit,
    /// The waiting process was asked to stop (a cancel, a shutdown): the job's process
    /// was terminated first.
    Interrupted,
}

/// Does `task` of job `job_id` of `team_id` (a run for the cycle starting at `cycle_epoch`,
/// Unix seconds) in a process of its own, connected to this database as `login` acting as
/// `role`, and waits for it. `interrupted` is asked between polls.
pub fn run_in_own_process(
    team_id: i32,
    job_id: i32,
    cycle_epoch: i64,
    (login, role): (pg_sys::Oid, pg_sys::Oid),
    task: Task,
    interrupted: &dyn Fn() -> bool,
) -> Result<Ended, String> {
    let limit_ms = JOB_TIME_LIMIT.get();
    let assignment = Assignment {
        team_id,
        job_id,
        cycle_epoch,
        limit_ms,
        task,
        database: unsafe { pg_sys::MyDatabaseId },
        login,
        role,
    };
    let what = match task {
        Task::Run { .. } => "job",
        Task::Assign => "assign_pending of job",
    };
    let worker = BackgroundWorkerBuilder::new(&format!("llm_clusters {what} {job_id} of team {team_id}"))
        .set_type(JOB_WORKER_TYPE)
        .set_library("llm_clusters")
        .set_function("llm_clusters_job_main")
        .enable_spi_access()
        .set_argument(Some(pg_sys::Datum::from(job_id)))
        .set_extra(&assignment.extra())
        .set_notify_pid(unsafe { pg_sys::MyProcPid })
        .set_restart_time(None)
        .load_dynamic()
        .map_err(|_| "no background worker slot is free (raise max_worker_processes)".to_string())?;
    let deadline = (limit_ms > 0).then(|| Instant::now() + Duration::from_millis(limit_ms as u64) + TERMINATE_GRACE);
    loop {
        match worker.pid() {
            Ok(_) | Err(BackgroundWorkerStatus::NotYetStarted) => {}
            Err(BackgroundWorkerStatus::PostmasterDied) => return Err("the postmaster died".into()),
            Err(_) => return Ok(Ended::Finished),
        }
        let ended = if interrupted() {
            Ended::Interrupted
        } else if deadline.is_some_and(|d| Instant::now() >= d) {
            Ended::OverLimit
        } else {
            wait(POLL);
            continue;
        };
        // SIGTERM: FATAL at the job's next interrupt check, whatever its code catches.
        let pid = worker.pid().ok();
        let _ = worker.terminate();
        if let Some(pid) = pid {
            wait_for_exit(pid, &format!("the process of {what} {job_id} of team {team_id}"));
        }
        return Ok(ended);
    }
}

/// Waits for the terminated process `pid` to end, at most `TERMINATED_WAIT`: a process that
/// does not reach an interrupt check (stopped, or in a long step with none) must not hold
/// the scheduler, which every team shares, nor the session of `run_due_jobs()`. pgrx's
/// wait for a terminated worker has no bound, so the process is watched in /proc.
fn wait_for_exit(pid: i32, what: &str) {
    let give_up = Instant::now() + TERMINATED_WAIT;
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        if Instant::now() >= give_up {
            pgrx::warning!(
                "{what} (pid {pid}) had not ended {} s after it was terminated: going on without it",
                TERMINATED_WAIT.as_secs()
            );
            return;
        }
        wait(POLL);
    }
}

/// Sleeps on the latch for `timeout` (a signal or the worker's end wakes it earlier).
fn wait(timeout: Duration) {
    unsafe {
        pg_sys::WaitLatch(
            pg_sys::MyLatch,
            (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
            timeout.as_millis() as std::ffi::c_long,
            pg_sys::PG_WAIT_EXTENSION,
        );
        pg_sys::ResetLatch(pg_sys::MyLatch);
    }
}

/// Records a run that its process could not record as failed, unless one was recorded;
/// returns its id.
fn record_ended(team_id: i32, job_id: i32, cycle: TimestampWithTimeZone, why: &str) -> Option<i64> {
    Spi::get_one_with_args::<i64>(
        "WITH recorded AS (SELECT r.id FROM llm_clusters.runs r WHERE r.team_id = $1 AND r.job_id = $2 AND r.cycle = $3),
              added AS (
                INSERT INTO llm_clusters.runs (job_id, team_id, job_name, level, window_start, window_end, cycle, params,
                                               status, error, finished_at)
                SELECT j.id, j.team_id, j.name, j.level, $3, $3, $3, j.params, 'failed', $4, clock_timestamp()
                FROM llm_clusters.jobs j WHERE j.team_id = $1 AND j.id = $2 AND NOT EXISTS (SELECT 1 FROM recorded)
                RETURNING id)
         SELECT (SELECT id FROM added UNION ALL SELECT id FROM recorded LIMIT 1)",
        &[team_id.into(), job_id.into(), cycle.into(), why.into()],
    )
    .or_raise()
}

/// The message of a run ended by its termination.
fn ended_message(ended: &Ended) -> Option<String> {
    match ended {
        Ended::Finished => None,
        Ended::OverLimit => Some(format!(
            "stopped by llm_clusters.job_time_limit ({} ms): the run did not stop at its cancel, and its process was terminated {} s later",
            JOB_TIME_LIMIT.get(),
            TERMINATE_GRACE.as_secs()
        )),
        Ended::Interrupted => {
            Some("run interrupted: the server is shutting down, or the session waiting for the run was cancelled".into())
        }
    }
}

/// The run of a job in a cycle once its process ended: the one it recorded, or a failed
/// one saying why there is none of its own (terminated over the limit or on request; or it
/// ended without recording one, as when a shutdown's SIGTERM reaches it first).
pub fn run_of_cycle(team_id: i32, job_id: i32, cycle: TimestampWithTimeZone, ended: &Ended) -> Option<i64> {
    // The process that waited runs no user code, but recording the run locks the job's
    // row (the runs' foreign key) and the cycle's key of runs, which the job's team may
    // hold in an open transaction (SELECT ... FOR UPDATE of its job, an INSERT of a run of
    // the cycle): the worker, which every team shares, waited for it for good.
    match try_subtransaction(|| with_lock_timeout(RECORD_LOCK_TIMEOUT_MS, || recorded_run(team_id, job_id, cycle, ended)))
    {
        Ok(run) => run,
        Err((PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE, _)) => raise(
            EngineError::new(
                ErrorKind::Busy,
                format!(
                    "the run of job {job_id} of team {team_id} in this cycle was not recorded: a session of team {team_id} held a lock on the job or on a run of the cycle for more than {} ms",
                    RECORD_LOCK_TIMEOUT_MS
                ),
            )
            .with_hint("The job is due again at the scheduler's next pass; end that session's transaction."),
        ),
        Err((code, message)) => raise_again(code, message),
    }
}

/// How long recording a job's run may wait for a lock that the job's team holds.
const RECORD_LOCK_TIMEOUT_MS: i32 = 5_000;

fn recorded_run(team_id: i32, job_id: i32, cycle: TimestampWithTimeZone, ended: &Ended) -> Option<i64> {
    if let Some(why) = ended_message(ended) {
        return record_ended(team_id, job_id, cycle, &why);
    }
    let recorded = Spi::get_one_with_args::<i64>(
        // One row whatever happens (NULL: none recorded).
        "SELECT (SELECT id FROM llm_clusters.runs WHERE team_id = $1 AND job_id = $2 AND cycle = $3)",
        &[team_id.into(), job_id.into(), cycle.into()],
    )
    .or_raise();
    recorded.or_else(|| {
        let why = "run interrupted: its process ended without recording it (the server is shutting down, or the process was terminated or crashed)";
        record_ended(team_id, job_id, cycle, why)
    })
}

/// AI labels for a committed run: requests gathered in one transaction, the service called
/// outside any, the labels written in another.
pub fn ai_labels(team_id: i32, run_id: i64) {
    let requests = BackgroundWorker::transaction(|| {
        in_subtransaction(|| {
            let source = run_team_and_source(run_id).and_then(|(team, source)| source.filter(|_| team == team_id));
            label_requests(team_id, run_id, source.as_ref())
        })
        .ok()
        .flatten()
    });
    let Some(requests) = requests else { return };
    let results = call_labels(requests);
    BackgroundWorker::transaction(|| {
        if let Err(message) = in_subtransaction(|| apply_labels(team_id, run_id, results)) {
            pgrx::warning!("llm_clusters: AI labels of run {run_id} failed: {message}");
        }
    });
}

/// The pinned search_path, and the caller's current role, as the session the job's
/// process came from had.
fn act_as(a: &Assignment, login: Option<pg_sys::Oid>) {
    pin_search_path();
    if a.role != pg_sys::InvalidOid && Some(a.role) != login {
        Spi::run_with_args(
            "SELECT pg_catalog.set_config('role', (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = $1), false)",
            &[a.role.into()],
        )
        .or_raise();
    }
}

// PostgreSQL's SIGTERM handler for backends (tcop/postgres.c), as the C symbol itself: pgrx
// binds it as a guarded Rust function, which is no signal handler.
unsafe extern "C-unwind" {
    #[link_name = "die"]
    fn postgres_die(signal: std::ffi::c_int);
}

/// The job's process: one run, then its AI labels, each committed; or one `assign_pending`
/// of the job; SIGTERM ends it.
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn llm_clusters_job_main(arg: pg_sys::Datum) {
    // PostgreSQL's own handler, not pgrx's flag: termination must be uncatchable.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        pg_sys::pqsignal(pg_sys::SIGTERM as i32, Some(postgres_die));
        #[cfg(feature = "pg18")]
        pg_sys::pqsignal_be(pg_sys::SIGTERM as i32, Some(postgres_die));
        pg_sys::BackgroundWorkerUnblockSignals();
    }
    let job_id = arg.value() as i32;
    let Some(a) = Assignment::parse(job_id, BackgroundWorker::get_extra()) else {
        pgrx::warning!("llm_clusters job worker: unreadable assignment \"{}\"", BackgroundWorker::get_extra());
        return;
    };
    let login = (a.login != pg_sys::InvalidOid).then_some(a.login);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(a.database), login);
    if a.task == Task::Assign {
        BackgroundWorker::transaction(|| {
            act_as(&a, login);
            match with_time_limit(TimeLimit { ms: a.limit_ms, ..job_time_limit() }, || {
                assign_job(Some(a.team_id), a.job_id)
            }) {
                Ok(0) => {}
                Ok(n) => pgrx::log!("llm_clusters scheduler: placed {n} new items of job {}", a.job_id),
                Err(message) => {
                    pgrx::warning!("llm_clusters scheduler: assign_pending({}) failed: {message}", a.job_id)
                }
            }
        });
        return;
    }
    let run_id = BackgroundWorker::transaction(|| {
        act_as(&a, login);
        let cycle = Spi::get_one_with_args::<TimestampWithTimeZone>(
            "SELECT pg_catalog.to_timestamp($1)",
            &[(a.cycle_epoch as f64).into()],
        )
        .or_raise()
        .required("the cycle start");
        match with_time_limit(TimeLimit { ms: a.limit_ms, ..job_time_limit() }, || {
            run(Some(a.team_id), a.job_id, cycle, Some(cycle), false)
        }) {
            Ok(run_id) => run_id,
            Err(message) => {
                pgrx::warning!("llm_clusters: job {} of team {} could not run: {message}", a.job_id, a.team_id);
                None
            }
        }
    });
    if let (Some(run_id), Task::Run { ai_labels: true }) = (run_id, a.task) {
        ai_labels(a.team_id, run_id);
    }
}
