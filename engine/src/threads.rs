//! The engine's worker threads (rayon's global pool). They block every signal: in a
//! PostgreSQL backend a signal such as SIGTERM or SIGINT must reach the backend's own
//! thread, whose handlers are not safe to run anywhere else.

use std::sync::{Arc, Mutex, Once};

static POOL: Once = Once::new();

/// Builds the global pool with signal-blocking threads; call before any parallel work.
/// Idempotent. If something else built the pool first, its threads are used as they are.
pub fn init_pool() {
    POOL.call_once(|| {
        let _ = rayon::ThreadPoolBuilder::new().start_handler(|_| block_signals()).build_global();
    });
}

/// A pool of `threads` signal-blocking threads for the embedder, built once per size and
/// kept for the life of the process (a backend changes the setting rarely).
pub fn local_pool(threads: usize) -> std::sync::Arc<rayon::ThreadPool> {
    static POOLS: Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, pool)) = pools.iter().find(|(n, _)| *n == threads) {
        return pool.clone();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("llm_clusters-embed-{i}"))
        .start_handler(|_| block_signals())
        .build()
        .map(Arc::new);
    match pool {
        Ok(pool) => {
            pools.push((threads, pool.clone()));
            pool
        }
        // No threads to be had: a one-thread pool is the calling thread's work anyway.
        Err(_) => Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .start_handler(|_| block_signals())
                .build()
                .expect("one thread"),
        ),
    }
}

/// A named thread that blocks every signal (as the pool's threads), running `f`: for
/// blocking work the backend's own thread waits for while it keeps checking for cancels.
pub fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<T>> {
    std::thread::Builder::new().name(name.to_string()).spawn(move || {
        block_signals();
        f()
    })
}

fn block_signals() {
    // SAFETY: plain libc calls on a sigset_t owned by this frame.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pool_threads_block_signals() {
        super::init_pool();
        let blocked = rayon::broadcast(|_| unsafe {
            let mut current: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut current);
            libc::sigismember(&current, libc::SIGTERM) == 1 && libc::sigismember(&current, libc::SIGINT) == 1
        });
        assert!(blocked.iter().all(|&b| b));
    }

    #[test]
    fn spawned_threads_block_signals() {
        let blocked = super::spawn("test", || unsafe {
            let mut current: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut current);
            libc::sigismember(&current, libc::SIGINT) == 1
        })
        .unwrap()
        .join()
        .unwrap();
        assert!(blocked);
    }
}
