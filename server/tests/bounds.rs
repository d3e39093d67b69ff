//! The server's bounds, driven over real sockets with no database: a port where nothing
//! listens (every key check answers 503) or a "black hole" that accepts and never answers
//! (a key check that holds its decoding slot). No timed assertions: each test waits for
//! a state, with a generous timeout only as a hang guard.

use flate2::write::GzEncoder;
use flate2::Compression;
use hyper_util::server::graceful::GracefulShutdown;
use llm_clusters_server::listen::{accept_loop, ConnLimits};
use llm_clusters_server::service::{Limits, State};
use llm_clusters_server::store::Store;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

const HANG_GUARD: Duration = Duration::from_secs(120);

struct Setup {
    max_connections: usize,
    max_per_address: usize,
    idle_timeout_s: u64,
    max_decoding: usize,
    db_port: u16,
    db_timeout_s: u64,
    max_buffered_mb: usize,
    decode_wait_s: u64,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            max_connections: 64,
            max_per_address: 64,
            idle_timeout_s: 10,
            max_decoding: 4,
            db_port: 1,
            db_timeout_s: 2,
            max_buffered_mb: 64,
            decode_wait_s: 1,
        }
    }
}

/// A server on 127.0.0.1:0 in this runtime; its address.
async fn start(setup: Setup) -> SocketAddr {
    let url = format!("host=127.0.0.1 port={} user=nobody dbname=nothing", setup.db_port);
    let store = Store::new(&url, None, 1, Duration::from_secs(setup.db_timeout_s)).unwrap();
    let limits = Limits {
        max_body_bytes: 1 << 20,
        read_timeout: Duration::from_secs(30),
        decode_wait: Duration::from_secs(setup.decode_wait_s),
        max_buffered_bytes: setup.max_buffered_mb << 20,
    };
    let state = Arc::new(State::new(store, limits, setup.max_decoding, false));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let conn = ConnLimits {
        max_connections: setup.max_connections,
        max_per_address: setup.max_per_address,
        idle_timeout: Duration::from_secs(setup.idle_timeout_s),
    };
    tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        accept_loop(&listener, state, conn, &graceful, std::future::pending()).await;
    });
    address
}

/// Sends a request (`Connection: close`), returns the whole answer.
async fn exchange(address: SocketAddr, head: &str, body: &[u8]) -> String {
    exchange_from(Ipv4Addr::LOCALHOST, address, head, body).await
}

/// `exchange` from the local address `from` (any of 127.0.0.0/8): another client.
async fn exchange_from(from: Ipv4Addr, address: SocketAddr, head: &str, body: &[u8]) -> String {
    tokio::time::timeout(HANG_GUARD, async {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((from, 0))).unwrap();
        let mut stream = socket.connect(address).await.unwrap();
        let request = format!("{head}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
        stream.write_all(request.as_bytes()).await.unwrap();
        // The server may answer before reading the whole body (401, 413): not an error.
        let _ = stream.write_all(body).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("hang guard")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Waits until the server closes `stream` (read gives 0 or an error).
async fn closed_by_server(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .expect("the server never closed the connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bombs_and_keyless_bodies_are_refused_before_any_database_or_full_parse() {
    let address = start(Setup::default()).await;
    // A keyless 20 MB bomb (past the 1 MB cap): 413 while inflating, the key never asked.
    let bomb = gzip(&vec![b' '; 20 << 20]);
    let answer = exchange(address, "POST /batch/ HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n", &bomb).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("once decompressed"), "{answer}");
    // The same bomb with a key in Authorization: the key is checked first (the database
    // cannot answer here: 503), so nothing was inflated.
    let head = "POST /batch/ HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nAuthorization: Bearer k\r\n";
    let answer = exchange(address, head, &bomb).await;
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("database_unavailable"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    // A keyless body inflating under the cap: 401 from the scan, no database asked.
    let keyless = gzip(br#"{"batch": [{"event": "$ai_generation", "properties": {}}]}"#);
    let answer = exchange(address, "POST /batch/ HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n", &keyless).await;
    assert!(answer.starts_with("HTTP/1.1 401") && answer.contains("missing_api_key"), "{answer}");
    // Capture v1 without Bearer: 401 before its (announced 100 MB) body is read.
    let answer = tokio::time::timeout(HANG_GUARD, async {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let head = "POST /i/v1/analytics/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 4096];
        let n = stream.read(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer[..n]).into_owned()
    })
    .await
    .expect("hang guard");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // Headers: two Content-Encodings, a list of encodings, a Content-Length past the cap.
    let twice = "POST /batch/ HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Encoding: gzip\r\n";
    assert!(exchange(address, twice, b"{}").await.starts_with("HTTP/1.1 415"));
    let list = "POST /batch/ HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip, gzip\r\n";
    assert!(exchange(address, list, &gzip(&gzip(b"{}"))).await.starts_with("HTTP/1.1 415"));
    let two_keys = "POST /batch/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n";
    assert!(exchange(address, two_keys, b"{}").await.starts_with("HTTP/1.1 400"));
    let answer = tokio::time::timeout(HANG_GUARD, async {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(b"POST /batch/ HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n").await.unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("hang guard");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_and_get_served_once_idle_ones_close() {
    let address = start(Setup { max_connections: 4, idle_timeout_s: 1, ..Setup::default() }).await;
    // Three times the cap, all silent.
    let mut idle = Vec::new();
    for _ in 0..12 {
        idle.push(TcpStream::connect(address).await.unwrap());
    }
    // A legitimate request behind them: answered once the idle ones have timed out.
    let answer = exchange(address, "OPTIONS /batch/ HTTP/1.1\r\nHost: x\r\nOrigin: http://app\r\n", b"").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // And every idle one was closed by the server, not left open.
    for stream in &mut idle {
        closed_by_server(stream).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_is_closed_when_idle() {
    let address = start(Setup { idle_timeout_s: 1, ..Setup::default() }).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(b"OPTIONS /batch/ HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(HANG_GUARD, stream.read(&mut answer)).await.expect("hang guard").unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer[..n]));
    // Kept alive (no Connection: close), then silent: closed by the idle timeout.
    closed_by_server(&mut stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_at_most_its_share_of_the_connections() {
    // Two idle connections from 127.0.0.1 are its share; its third is closed unread, and
    // another address is served (before, one address could hold all of --max-connections).
    let address = start(Setup { max_connections: 8, max_per_address: 2, ..Setup::default() }).await;
    let connect_from = |from: Ipv4Addr| async move {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((from, 0))).unwrap();
        socket.connect(address).await.unwrap()
    };
    let _idle = [connect_from(Ipv4Addr::LOCALHOST).await, connect_from(Ipv4Addr::LOCALHOST).await];
    let mut third = connect_from(Ipv4Addr::LOCALHOST).await;
    let _ = third.write_all(b"OPTIONS /batch/ HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(HANG_GUARD, third.read_to_end(&mut answer)).await.expect("hang guard");
    assert!(read.is_err() || answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    let other =
        exchange_from(Ipv4Addr::new(127, 0, 0, 2), address, "OPTIONS /batch/ HTTP/1.1\r\nHost: x\r\n", b"").await;
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
}

/// A database that accepts connections and never answers: its port, and a message for
/// each connection made.
async fn black_hole() -> (u16, tokio::sync::mpsc::UnboundedReceiver<()>) {
    let black_hole = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let db_port = black_hole.local_addr().unwrap().port();
    let (connected, connected_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = black_hole.accept().await {
            held.push(stream);
            let _ = connected.send(());
        }
    });
    (db_port, connected_rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decoding_slots_are_bounded_and_the_rest_get_503_with_retry_after() {
    // A key check hangs until --db-timeout-s, holding the one decoding slot.
    let (db_port, mut connected_rx) = black_hole().await;
    let address = start(Setup { max_decoding: 1, db_port, db_timeout_s: 5, ..Setup::default() }).await;
    let body = br#"{"api_key": "in-the-body", "batch": []}"#;
    let first = tokio::spawn(exchange(address, "POST /batch/ HTTP/1.1\r\nHost: x\r\n", body));
    // The first request is checking its key: it holds the slot.
    tokio::time::timeout(HANG_GUARD, connected_rx.recv()).await.expect("hang guard");
    let answer = exchange(address, "POST /batch/ HTTP/1.1\r\nHost: x\r\n", body).await;
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("\"busy\""), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    // The first one ends (the database never answered) and frees the slot.
    let first = first.await.unwrap();
    assert!(first.starts_with("HTTP/1.1 503") && first.contains("database_unavailable"), "{first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_flooding_the_decoding_slot_does_not_keep_another_from_it() {
    // One slot, held by each request for --db-timeout-s (its key check meets a database
    // that never answers); requests wait up to 30 s for it. A client at 127.0.0.1 sends
    // four, then another client (127.0.0.2) one: the clients take turns, so the other
    // client's comes after at most one more of the flood's (first come, first served
    // answered it last).
    let (db_port, mut connected_rx) = black_hole().await;
    let setup = Setup { max_decoding: 1, db_port, db_timeout_s: 1, decode_wait_s: 30, ..Setup::default() };
    let address = start(setup).await;
    let body: &[u8] = br#"{"api_key": "in-the-body", "batch": []}"#;
    let head = "POST /batch/ HTTP/1.1\r\nHost: x\r\n";
    let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel();
    let send = |from: Ipv4Addr, who: &'static str| {
        let answered = answered.clone();
        tokio::spawn(async move {
            let answer = exchange_from(from, address, head, body).await;
            let _ = answered.send((who, answer));
        })
    };
    send(Ipv4Addr::LOCALHOST, "flood");
    tokio::time::timeout(HANG_GUARD, connected_rx.recv()).await.expect("hang guard");
    for _ in 0..3 {
        send(Ipv4Addr::LOCALHOST, "flood");
    }
    // The flood's three wait for the slot before the other client asks (they were sent
    // first; a short pause lets the server read them).
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(Ipv4Addr::new(127, 0, 0, 2), "other");
    let mut order = Vec::new();
    while order.len() < 5 {
        let (who, answer) = tokio::time::timeout(HANG_GUARD, answers.recv()).await.expect("hang guard").unwrap();
        assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("database_unavailable"), "{answer}");
        order.push(who);
    }
    let other = order.iter().position(|&who| who == "other");
    assert!(other.is_some_and(|place| place <= 2), "answered in the order {order:?}");
}

/// Connects and sends a head announcing `length` bytes and `sent` bytes of the body.
async fn partial_body(address: SocketAddr, head: &str, length: usize, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!("{head}Content-Length: {length}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; sent]).await.unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_in_the_header_is_checked_before_the_body_is_read() {
    let address = start(Setup::default()).await;
    // The head of a 1 MB body and none of it: the key check answers (503, the database is
    // away) at once. The body was read first, so the server waited for it (408 after
    // --read-timeout-s) and held up to --max-body-mb for a key it had not checked.
    let head = "POST /batch/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-checked-yet\r\n";
    let mut stream = partial_body(address, head, 1 << 20, 0).await;
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(HANG_GUARD, stream.read(&mut answer)).await.expect("hang guard").unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("database_unavailable"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_held_at_once_share_max_buffered_mb() {
    // 2 MB for all bodies; two keyless clients send all but the last byte of 1 MB bodies
    // and stall. Every open connection could hold --max-body-mb before its key was known
    // (24 such clients: 480 MB; --max-connections 512: 10 GB).
    let address = start(Setup { max_buffered_mb: 2, ..Setup::default() }).await;
    let head = "POST /batch/ HTTP/1.1\r\nHost: x\r\n";
    let _stalled = [
        partial_body(address, head, 1 << 20, (1 << 20) - 1).await,
        partial_body(address, head, 1 << 20, (1 << 20) - 1).await,
    ];
    // Once the server has buffered them, the next body finds no room: 503, retry later.
    let body = br#"{"api_key": "k", "batch": []}"#;
    let answer = tokio::time::timeout(HANG_GUARD, async {
        loop {
            let answer = exchange(address, head, body).await;
            if !answer.starts_with("HTTP/1.1 401") && !answer.contains("database_unavailable") {
                return answer;
            }
        }
    })
    .await
    .expect("hang guard: every body was buffered");
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("max-buffered-mb"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_path_is_clipped_in_the_answer() {
    let address = start(Setup::default()).await;
    // hyper takes paths up to 64 KB; each refusal is also logged (stderr, clipped as well):
    // unclipped, a 404 line carried the whole path, twice, for every request.
    let head = format!("POST /{} HTTP/1.1\r\nHost: x\r\n", "a".repeat(60_000));
    let answer = exchange(address, &head, b"").await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{}", &answer[..answer.len().min(200)]);
    assert!(answer.len() < 1_000, "a 404 of {} bytes", answer.len());
}

/// A client that pipelines requests and never reads the answers (its receive window
/// closed): the server's write waits, and only reading a request head had a timeout, so
/// each such connection held a slot of --max-connections for good and a handful of them
/// locked every client out. A write that makes no progress for --idle-timeout-s now
/// closes the connection, and a legitimate client behind them is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_their_answers_do_not_hold_the_connections() {
    let address = start(Setup { max_connections: 2, idle_timeout_s: 1, ..Setup::default() }).await;
    let mut writers = Vec::new();
    for _ in 0..2 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(address).await.unwrap();
        // 404s, pipelined, 64 KB at a time, never read: the writes block once both sides'
        // buffers are full; the task ends when the server closes the connection.
        writers.push(tokio::spawn(async move {
            let chunk = "GET /no/such/path HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1600);
            while stream.write_all(chunk.as_bytes()).await.is_ok() {}
        }));
    }
    // Both connections are taken and stalled before the legitimate client comes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answer = exchange(address, "OPTIONS /batch/ HTTP/1.1\r\nHost: x\r\nOrigin: http://app\r\n", b"").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for writer in writers {
        tokio::time::timeout(HANG_GUARD, writer).await.expect("the stalled connection was never closed").unwrap();
    }
}
