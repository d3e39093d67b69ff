//! Out of file descriptors while accepting (EMFILE): the accept loop pauses and serves
//! again once descriptors are free, instead of spinning or dying. Its own test binary:
//! it lowers this process's descriptor limit. No timed assertions; hang guards only.

use hyper_util::server::graceful::GracefulShutdown;
use llm_clusters_server::listen::{accept_loop, ensure_descriptors, ConnLimits};
use llm_clusters_server::service::{Limits, State};
use llm_clusters_server::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HANG_GUARD: Duration = Duration::from_secs(120);

fn set_soft_limit(n: u64) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain getrlimit/setrlimit on structs we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = n;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_out_of_descriptors_pauses_then_serves_again() {
    let store = Store::new("host=127.0.0.1 port=1 user=x", None, 1, Duration::from_secs(1)).unwrap();
    let limits = Limits {
        max_body_bytes: 1 << 20,
        read_timeout: Duration::from_secs(5),
        decode_wait: Duration::from_secs(1),
        max_buffered_bytes: 64 << 20,
    };
    let state = Arc::new(State::new(store, limits, 2, false));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // A cap far above what the descriptors allow, so that accept itself runs out.
    let conn = ConnLimits { max_connections: 10_000, max_per_address: 10_000, idle_timeout: Duration::from_secs(1) };
    tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        accept_loop(&listener, state, conn, &graceful, std::future::pending()).await;
    });
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    set_soft_limit(open + 40);
    // The start-up check would have refused this cap.
    assert!(ensure_descriptors(open + 100_000_000, "test").is_err());
    // Clients until this process (clients and server alike) has no descriptor left.
    let mut clients = Vec::new();
    loop {
        match tokio::time::timeout(HANG_GUARD, TcpStream::connect(address)).await.expect("hang guard") {
            Ok(stream) => clients.push(stream),
            Err(_) => break,
        }
        assert!(clients.len() < 1000, "the limit did not apply");
    }
    assert!(!clients.is_empty());
    // Free them: the server, which met EMFILE on accept (or closed idle ones), goes on.
    drop(clients);
    let answer = tokio::time::timeout(HANG_GUARD, async {
        loop {
            // Descriptors may still be short for a moment: retry the connection itself.
            let Ok(mut stream) = TcpStream::connect(address).await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let _ = stream.write_all(b"OPTIONS /batch/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer).await;
            if !answer.is_empty() {
                return String::from_utf8_lossy(&answer).into_owned();
            }
        }
    })
    .await
    .expect("the server never served again");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
