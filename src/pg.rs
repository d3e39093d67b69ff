//! PostgreSQL primitives the rest of the adapter builds on: subtransactions, interrupts,
//! a time limit, and doing work as another role in a security-restricted operation.
//! Imports nothing else of the crate but `error`, and knows nothing of jobs or runs: what
//! a message should name comes from the caller.

use crate::error::{raise, raise_again, OrRaise};
use llm_clusters_engine::{EngineError, ErrorKind};
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Pins this session's search_path to `pg_catalog, pg_temp`: for the background worker and
/// the job processes, which run the extension's SQL as a superuser, so that no function or
/// operator of a schema others may write to (public, in databases from before PostgreSQL
/// 15) is picked for an unqualified name. The SQL entry points set the same path.
pub fn pin_search_path() {
    Spi::run("SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)").or_raise();
}

/// A value the query guarantees (a NOT NULL column, a count, a key): a NULL there is a
/// broken invariant, raised as an internal error naming `what`, not read as 0 or "".
pub trait Required<T> {
    fn required(self, what: &str) -> T;
}

impl<T> Required<T> for Option<T> {
    fn required(self, what: &str) -> T {
        self.unwrap_or_else(|| raise(EngineError::new(ErrorKind::Internal, format!("unexpected NULL: {what}"))))
    }
}

/// Stops work at the next unit when the session was cancelled or timed out (raises, as
/// CHECK_FOR_INTERRUPTS does) or the background worker was asked to shut down.
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
    try_subtransaction(f).map_err(|(_, message)| message)
}

/// Runs `batch(limit)` until `max_items` are done or a batch writes nothing, each batch in
/// a subtransaction of at most `batch_size`: a cancel or statement timeout stops at the
/// batch it interrupts and keeps the batches before (a WARNING names `what`); any other
/// error is raised again. `batch` returns the rows it wrote and how many of them count.
pub fn in_batches(what: &str, max_items: i32, batch_size: i64, mut batch: impl FnMut(i64) -> (usize, i64)) -> Batches {
    if max_items < 1 {
        raise(EngineError::new(ErrorKind::InvalidParameter, format!("max_items must be at least 1, got {max_items}")));
    }
    let mut done = Batches::default();
    while done.written < i64::from(max_items) {
        match try_subtransaction(|| batch((i64::from(max_items) - done.written).min(batch_size))) {
            // Nothing new (none pending, or another session wrote them first): done.
            Ok((0, _)) => break,
            Ok((written, count)) => {
                done.written += written as i64;
                done.counted += count;
            }
            Err((PgSqlErrorCode::ERRCODE_QUERY_CANCELED, message)) if done.counted > 0 => {
                pgrx::warning!("{what} stopped after {} items, which are kept: {message}", done.counted);
                break;
            }
            Err((code, message)) => raise_again(code, message),
        }
    }
    done
}

/// What `in_batches` did: the rows written, and how many of them count (the functions'
/// results, e.g. rows with a usable vector). A caller that goes on while work is pending
/// (the worker) compares `written`: a batch can write rows that do not count.
#[derive(Clone, Copy, Debug, Default)]
pub struct Batches {
    pub written: i64,
    pub counted: i64,
}

/// `in_subtransaction`, with the SQLSTATE of the error it caught.
pub fn try_subtransaction<T>(f: impl FnOnce() -> T) -> Result<T, (PgSqlErrorCode, String)> {
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
        let (code, message) = match caught {
            CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => {
                (r.sql_error_code(), r.message().to_string())
            }
            CaughtError::RustPanic { ereport, .. } => (ereport.sql_error_code(), ereport.message().to_string()),
        };
        // Nested subtransactions (a batch inside a time limit) name the limit once.
        Err(match TIME_LIMIT_FIRED.load(Ordering::SeqCst) && !message.starts_with("stopped by ") {
            true => (code, {
                let limit = LIMIT_IN_FORCE.get();
                format!("stopped by {} ({} ms): {message}", limit.setting, limit.ms)
            }),
            false => (code, message),
        })
    })
    .execute()
}

// PostgreSQL's timeout API (utils/timeout.h), which pgrx does not bind.
type TimeoutId = std::ffi::c_int;
/// `USER_TIMEOUT`, the first id extensions may register (PostgreSQL 17 added one before it).
#[cfg(any(feature = "pg15", feature = "pg16"))]
const USER_TIMEOUT: TimeoutId = 12;
#[cfg(not(any(feature = "pg15", feature = "pg16")))]
const USER_TIMEOUT: TimeoutId = 13;
unsafe extern "C-unwind" {
    fn RegisterTimeout(id: TimeoutId, handler: Option<unsafe extern "C" fn()>) -> TimeoutId;
    fn enable_timeout_after(id: TimeoutId, delay_ms: std::ffi::c_int);
    fn disable_timeout(id: TimeoutId, keep_indicator: bool);
}

/// A time limit on work: how long, and the setting that chose it (the errors of work it
/// stops name the setting).
#[derive(Clone, Copy)]
pub struct TimeLimit {
    pub setting: &'static str,
    /// 0: none.
    pub ms: i32,
}

/// The user-defined timeout slot of the time limit (registered once per backend).
static TIME_LIMIT_TIMEOUT: AtomicI32 = AtomicI32::new(-1);
/// Set by the timeout handler, so that the cancel it causes can be told apart from others.
static TIME_LIMIT_FIRED: AtomicBool = AtomicBool::new(false);
thread_local! {
    /// The limit in force, for the error message.
    static LIMIT_IN_FORCE: Cell<TimeLimit> = const { Cell::new(TimeLimit { setting: "", ms: 0 }) };
}

/// Runs in the SIGALRM handler: only async-signal-safe work (flags and the latch).
unsafe extern "C" fn time_limit_reached() {
    TIME_LIMIT_FIRED.store(true, Ordering::SeqCst);
    unsafe {
        pg_sys::InterruptPending = 1;
        pg_sys::QueryCancelPending = 1;
        if !pg_sys::MyLatch.is_null() {
            pg_sys::SetLatch(pg_sys::MyLatch);
        }
    }
}

/// Runs `f` in a subtransaction with a time limit. When the limit passes, the work is
/// cancelled at its next interrupt check, as a statement timeout would; errors caught
/// meanwhile say which limit it was.
pub fn with_time_limit<T>(limit: TimeLimit, f: impl FnOnce() -> T) -> Result<T, String> {
    with_time_limit_coded(limit, f).map_err(|(_, message)| message)
}

/// `with_time_limit`, with the SQLSTATE of the error it caught.
pub fn with_time_limit_coded<T>(limit: TimeLimit, f: impl FnOnce() -> T) -> Result<T, (PgSqlErrorCode, String)> {
    if limit.ms <= 0 {
        return try_subtransaction(f);
    }
    let mut id = TIME_LIMIT_TIMEOUT.load(Ordering::SeqCst);
    if id < 0 {
        // SAFETY: registering a handler for a free user timeout slot, in the backend's thread.
        id = unsafe { RegisterTimeout(USER_TIMEOUT, Some(time_limit_reached)) };
        TIME_LIMIT_TIMEOUT.store(id, Ordering::SeqCst);
    }
    TIME_LIMIT_FIRED.store(false, Ordering::SeqCst);
    LIMIT_IN_FORCE.set(limit);
    unsafe { enable_timeout_after(id, limit.ms) };
    let result = try_subtransaction(f);
    unsafe { disable_timeout(id, false) };
    if TIME_LIMIT_FIRED.swap(false, Ordering::SeqCst) && result.is_ok() {
        // The work caught the cancel itself (a run records it as failed) or the limit
        // passed after its last check: the cancel must not hit whatever runs next.
        unsafe { pg_sys::QueryCancelPending = 0 };
    }
    result
}

/// Runs `f` with `lock_timeout` at `ms` (the setting in force again after it): for a
/// process that runs no user code but waits on rows a team may lock, as the scheduler
/// does when it records a job's run (the job's row, whose `FOR UPDATE` an admin may take;
/// an uncommitted run of the cycle, which an admin may `INSERT`). Without it, one team's
/// open transaction held the worker that every team shares, for as long as it stayed open.
pub fn with_lock_timeout<T>(ms: i32, f: impl FnOnce() -> T) -> T {
    let value = std::ffi::CString::new(ms.to_string()).unwrap_or_default();
    with_setting(c"lock_timeout", &value, f)
}

/// Runs `f` with setting `name` at `value` in a GUC nest level of its own, as a function's
/// `SET` clause does: afterwards every setting changed in it, this one and whatever `f`
/// set (local or not), is as it was (`false`, as ExecRefreshMatView). When `f` raises, the
/// abort of the enclosing (sub)transaction undoes the level.
fn with_setting<T>(name: &std::ffi::CStr, value: &std::ffi::CStr, f: impl FnOnce() -> T) -> T {
    // SAFETY: PostgreSQL's own calls for a SET clause, on the backend's thread.
    let nest_level = unsafe { pg_sys::NewGUCNestLevel() };
    unsafe {
        pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
    }
    let value = f();
    unsafe { pg_sys::AtEOXact_GUC(false, nest_level) };
    value
}

/// Runs `f` read-only in a subtransaction that is rolled back after it, whether it returns
/// or raises (raised again then, as it was): `f` writes nothing (nor calls `nextval`, whose
/// `lastval` would be the caller's next), and whatever else it did in the transaction is
/// undone when it ends: its locks (transaction-level advisory ones too) released, the
/// cursors it left open closed, the notifications it queued discarded, its settings
/// restored. `f`'s value is Rust's, so it outlives the rollback.
fn rolled_back<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: the pattern of `try_subtransaction`, with a rollback where it releases.
    let (context, owner) = unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
    unsafe { pg_sys::BeginInternalSubTransaction(std::ptr::null()) };
    // Read-only until the rollback restores the caller's mode (the subtransaction's start
    // saved it); the code cannot SET it back inside a subtransaction.
    unsafe { pg_sys::XactReadOnly = true };
    let roll_back = move || unsafe {
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
        pg_sys::RollbackAndReleaseCurrentSubTransaction();
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
    };
    let f = std::panic::AssertUnwindSafe(f);
    let value = PgTryBuilder::new(f)
        .catch_others(|caught| {
            roll_back();
            caught.rethrow()
        })
        .execute();
    roll_back();
    value
}

/// The session-level advisory lock functions (pg_proc OIDs, fixed since PostgreSQL 8.2):
/// `pg_advisory_lock`, `_lock_shared`, `pg_try_advisory_lock`, `_lock_shared`,
/// `pg_advisory_unlock`, `_unlock_shared` (bigint, then int4 pairs) and
/// `pg_advisory_unlock_all`. A lock they take outlives any (sub)transaction, so a read
/// cannot undo it; an unlock releases the caller's own.
const SESSION_ADVISORY_LOCK_FUNCTIONS: std::ops::RangeInclusive<u32> = 2880..=2892;

/// Owner reads in progress in this backend (`Owner::run`), for the hook below.
static OWNER_READS: AtomicI32 = AtomicI32::new(0);

static mut NEXT_OBJECT_ACCESS_HOOK: pg_sys::object_access_hook_type = None;

/// Installs the hook that refuses session-level advisory locks to code run as a job's
/// owner (at library load).
pub fn install_owner_hooks() {
    // SAFETY: hooks are set at load, on the backend's thread; the previous one is chained.
    unsafe {
        NEXT_OBJECT_ACCESS_HOOK = pg_sys::object_access_hook;
        pg_sys::object_access_hook = Some(refuse_session_advisory_locks);
    }
}

/// PostgreSQL asks this hook before it runs any function of an expression (ExecInitFunc,
/// built-in ones too; `fmgr_hook` skips those): within an owner's read, a session-level
/// advisory lock function is refused before it runs (a handler that catches the error
/// has taken nothing). It runs for every object access of the backend: the common case
/// (no hook before ours, no refusal) is a few comparisons, outside `pg_guard`.
unsafe extern "C-unwind" fn refuse_session_advisory_locks(
    access: pg_sys::ObjectAccessType::Type,
    class_id: pg_sys::Oid,
    object_id: pg_sys::Oid,
    sub_id: std::ffi::c_int,
    arg: *mut std::ffi::c_void,
) {
    // SAFETY: a copy of the pointer set once at load.
    let next = unsafe { NEXT_OBJECT_ACCESS_HOOK };
    let refused = access == pg_sys::ObjectAccessType::OAT_FUNCTION_EXECUTE
        && class_id == pg_sys::ProcedureRelationId
        && OWNER_READS.load(Ordering::SeqCst) > 0
        && SESSION_ADVISORY_LOCK_FUNCTIONS.contains(&object_id.to_u32());
    if next.is_some() || refused {
        unsafe { next_hook_then_refuse(next, refused, access, class_id, object_id, sub_id, arg) };
    }
}

/// The hook installed before ours (which may raise), then the refusal.
#[pg_guard]
unsafe extern "C-unwind" fn next_hook_then_refuse(
    next: pg_sys::object_access_hook_type,
    refused: bool,
    access: pg_sys::ObjectAccessType::Type,
    class_id: pg_sys::Oid,
    object_id: pg_sys::Oid,
    sub_id: std::ffi::c_int,
    arg: *mut std::ffi::c_void,
) {
    if let Some(next) = next {
        // SAFETY: the hook that was installed before ours, called as PostgreSQL would.
        unsafe { next(access, class_id, object_id, sub_id, arg) };
    }
    if refused {
        raise(
            EngineError::new(
                ErrorKind::InsufficientPrivilege,
                "a job's source may not take or release session-level advisory locks: they would outlive the read in the reader's session",
            )
            .with_hint(
                "Remove pg_advisory_lock, pg_advisory_unlock and the like from the source's views and functions (pg_advisory_xact_lock is allowed: it is released when the read ends).",
            ),
        );
    }
}

/// A role to do work as, checked to exist.
#[derive(Clone, Copy)]
pub struct Owner {
    pub oid: pg_sys::Oid,
}

impl Owner {
    /// The role `oid`, or the error `missing` builds (the caller knows what the role owns)
    /// when the role was dropped.
    pub fn existing(oid: pg_sys::Oid, missing: impl FnOnce() -> EngineError) -> Owner {
        let exists = Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE oid = $1)",
            &[oid.into()],
        )
        .or_raise()
        .required("EXISTS");
        if !exists {
            raise(missing());
        }
        Owner { oid }
    }

    /// Runs `f` with this role's privileges and row-level security, as PostgreSQL runs
    /// VACUUM, ANALYZE or REFRESH MATERIALIZED VIEW as a table's owner (CVE-2022-1552):
    /// a security-restricted operation (no SET ROLE, no temporary objects, nothing that
    /// outlives it) with `search_path` set to `pg_catalog, pg_temp`. Whoever calls, code in
    /// the source (a view's functions, say) runs with the owner's rights only, and leaves
    /// nothing behind in the caller's session or transaction: `f` runs read-only in a
    /// subtransaction rolled back after it (`rolled_back`), and session-level advisory
    /// locks are refused (`refuse_session_advisory_locks`).
    pub fn run<T>(self, f: impl FnOnce() -> T) -> T {
        let mut saved_user = pg_sys::InvalidOid;
        let mut saved_context = 0;
        // SAFETY: the same calls as PostgreSQL's ExecRefreshMatView; on error the enclosing
        // (sub)transaction's abort restores the GUC nest level, `finally` the user id.
        unsafe {
            pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
            pg_sys::SetUserIdAndSecContext(self.oid, saved_context | pg_sys::SECURITY_RESTRICTED_OPERATION as i32);
        }
        // Every setting the owner's code changes (search_path, work_mem, custom ones;
        // set_config local or not) is undone after it, so nothing it chose runs later in
        // the caller's session.
        with_setting(c"search_path", c"pg_catalog, pg_temp", || {
            let f = std::panic::AssertUnwindSafe(f);
            OWNER_READS.fetch_add(1, Ordering::SeqCst);
            PgTryBuilder::new(move || rolled_back(f))
                .finally(move || {
                    OWNER_READS.fetch_sub(1, Ordering::SeqCst);
                    unsafe { pg_sys::SetUserIdAndSecContext(saved_user, saved_context) }
                })
                .execute()
        })
    }
}
