use hyper_util::server::graceful::GracefulShutdown;
use llm_clusters_server::config::{self, Command, Config};
use llm_clusters_server::listen::{accept_loop, ensure_descriptors, ConnLimits, RESERVED_FDS};
use llm_clusters_server::service::{Limits, State};
use llm_clusters_server::store::Store;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = std::env::vars().collect();
    let config = match config::parse(&args, &env) {
        Ok(Command::Run(config)) => *config,
        Ok(Command::Help) => {
            print!("{}", config::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("llm-clusters-server: {message}\n\n{}", config::USAGE);
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("llm-clusters-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("llm-clusters-server: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    // Checked before listening: a server that would run out of descriptors under load
    // says so now, not as "accept: Too many open files" later.
    let needed = config.max_connections as u64 + config.pool_size as u64 + RESERVED_FDS;
    let what = format!("--max-connections {} with --pool-size {}", config.max_connections, config.pool_size);
    ensure_descriptors(needed, &what)?;
    let store = Store::new(&config.database_url, config.db_ca_file.as_deref(), config.pool_size, config.db_timeout)?;
    // Not fatal: the database may come up after the server.
    match store.connected_as_superuser().await {
        Ok(true) => eprintln!(
            "llm-clusters-server: WARNING: connected as a superuser; connect as a role in llm_clusters_ingest instead"
        ),
        Ok(false) => {}
        Err(e) => eprintln!("llm-clusters-server: database not reachable yet ({e}); requests get 503 until it is"),
    }
    let listener =
        TcpListener::bind(config.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("llm-clusters-server: listening on {address}");
    let limits = Limits {
        max_body_bytes: config.max_body_bytes,
        read_timeout: config.read_timeout,
        decode_wait: config.decode_wait,
        max_buffered_bytes: config.max_buffered_bytes,
    };
    let state = Arc::new(State::new(store, limits, config.max_decoding, config.access_log));
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
    };
    let graceful = GracefulShutdown::new();
    let conn_limits = ConnLimits {
        max_connections: config.max_connections,
        max_per_address: config.max_connections_per_address,
        idle_timeout: config.idle_timeout,
    };
    accept_loop(&listener, state, conn_limits, &graceful, shutdown).await;
    drop(listener);
    println!("llm-clusters-server: shutting down, finishing requests in flight");
    tokio::select! {
        _ = graceful.shutdown() => println!("llm-clusters-server: stopped"),
        _ = tokio::time::sleep(config.shutdown_timeout) => {
            eprintln!("llm-clusters-server: requests still running after {} s, stopping anyway", config.shutdown_timeout.as_secs());
        }
    }
    Ok(())
}
