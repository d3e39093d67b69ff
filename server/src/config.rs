//! Settings: command-line flags, else environment variables, else defaults.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: llm-clusters-server --database-url URL [--listen HOST:PORT] [options]

Receives what PostHog SDKs send (POST /batch/, /i/v0/ai/batch/, /i/v1/analytics/events,
/e/, /i/v0/e/, /capture/) and stores it with llm_clusters.capture_with_key under the team
of the request's API key (llm_clusters.create_api_key). GET /healthz checks the database.

  --database-url URL     LLM_CLUSTERS_DATABASE_URL or DATABASE_URL; a role in
                         llm_clusters_ingest (postgres://ingest@/db?host=/run/postgresql);
                         with sslmode=require, TLS with the certificate verified
  --db-ca-file PATH      LLM_CLUSTERS_DB_CA_FILE: the CA(s) (PEM) that signed PostgreSQL's
                         certificate; without it, TLS trusts the Mozilla roots
  --listen HOST:PORT     LLM_CLUSTERS_LISTEN, default 127.0.0.1:8010 (port 0: any free port)
  --max-body-mb N        LLM_CLUSTERS_MAX_BODY_MB, default 20: larger bodies get 413,
                         compressed or not; nothing beyond it is read
  --max-buffered-mb N    LLM_CLUSTERS_MAX_BUFFERED_MB, default 256: request bodies held
                         at once, all connections together (at least --max-body-mb), one
                         client's at most half; a body that finds it full for
                         --decode-wait-s gets 503
  --read-timeout-s N     LLM_CLUSTERS_READ_TIMEOUT_S, default 30: a client slower than
                         this to send its body gets 408
  --idle-timeout-s N     LLM_CLUSTERS_IDLE_TIMEOUT_S, default 10: a connection that has
                         not sent a whole request head for this long (a new one, or one
                         kept alive between requests) is closed
  --max-connections N    LLM_CLUSTERS_MAX_CONNECTIONS, default 512: connections beyond it
                         wait in the listen queue until one closes; the file descriptor
                         limit (ulimit -n, LimitNOFILE=) must leave room for N + pool + 64
  --max-connections-per-address N
                         LLM_CLUSTERS_MAX_CONNECTIONS_PER_ADDRESS, default a quarter of
                         --max-connections: more from one address (an IPv6 /64) are
                         closed at once; behind a proxy, set it to --max-connections
  --max-decoding N       LLM_CLUSTERS_MAX_DECODING, default 2: requests decompressed and
                         parsed at once (each holds up to --max-body-mb); the others wait,
                         and a free slot goes to the client (header key, else address)
                         that holds the fewest
  --decode-wait-s N      LLM_CLUSTERS_DECODE_WAIT_S, default 2: how long a request waits
                         for a decoding slot before 503 with Retry-After
  --pool-size N          LLM_CLUSTERS_POOL_SIZE, default 8 database connections; checks
                         of new keys and /healthz hold at most half of them
  --db-timeout-s N       LLM_CLUSTERS_DB_TIMEOUT_S, default 5: waiting for a connection
                         longer than this answers 503 (SDKs retry)
  --shutdown-timeout-s N LLM_CLUSTERS_SHUTDOWN_TIMEOUT_S, default 30: on SIGTERM, how long
                         in-flight requests may take to finish
  --access-log on|off    LLM_CLUSTERS_ACCESS_LOG, default off: a line per accepted request
                         on stdout (refusals always go to stderr, without keys or bodies)
";

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub database_url: String,
    /// PEM file of the CA(s) that signed PostgreSQL's certificate (with sslmode=require).
    pub db_ca_file: Option<PathBuf>,
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub max_buffered_bytes: usize,
    pub read_timeout: Duration,
    /// Header read and keep-alive idle: hyper runs one clock for both.
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub max_decoding: usize,
    pub decode_wait: Duration,
    pub pool_size: usize,
    pub db_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub access_log: bool,
}

/// What a command line asks for: to run, or to print the usage.
#[derive(Debug, PartialEq)]
pub enum Command {
    Run(Box<Config>),
    Help,
}

const FLAGS: [(&str, &str); 15] = [
    ("--database-url", "LLM_CLUSTERS_DATABASE_URL"),
    ("--db-ca-file", "LLM_CLUSTERS_DB_CA_FILE"),
    ("--listen", "LLM_CLUSTERS_LISTEN"),
    ("--max-body-mb", "LLM_CLUSTERS_MAX_BODY_MB"),
    ("--max-buffered-mb", "LLM_CLUSTERS_MAX_BUFFERED_MB"),
    ("--read-timeout-s", "LLM_CLUSTERS_READ_TIMEOUT_S"),
    ("--idle-timeout-s", "LLM_CLUSTERS_IDLE_TIMEOUT_S"),
    ("--max-connections", "LLM_CLUSTERS_MAX_CONNECTIONS"),
    ("--max-connections-per-address", "LLM_CLUSTERS_MAX_CONNECTIONS_PER_ADDRESS"),
    ("--max-decoding", "LLM_CLUSTERS_MAX_DECODING"),
    ("--decode-wait-s", "LLM_CLUSTERS_DECODE_WAIT_S"),
    ("--pool-size", "LLM_CLUSTERS_POOL_SIZE"),
    ("--db-timeout-s", "LLM_CLUSTERS_DB_TIMEOUT_S"),
    ("--shutdown-timeout-s", "LLM_CLUSTERS_SHUTDOWN_TIMEOUT_S"),
    ("--access-log", "LLM_CLUSTERS_ACCESS_LOG"),
];

/// Parses the arguments (without the program name) and the environment.
pub fn parse(args: &[String], env: &HashMap<String, String>) -> Result<Command, String> {
    let mut given: HashMap<&str, String> = HashMap::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Command::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_string())),
            None => (arg.as_str(), None),
        };
        let Some((name, _)) = FLAGS.iter().find(|(name, _)| *name == flag) else {
            return Err(format!("unknown argument {arg:?}"));
        };
        let value = match inline {
            Some(value) => value,
            None => rest.next().cloned().ok_or_else(|| format!("{name} needs a value"))?,
        };
        given.insert(name, value);
    }
    let value = |flag: &str| -> Option<String> {
        let env_name = FLAGS.iter().find(|(name, _)| *name == flag).map(|(_, e)| *e)?;
        given.get(flag).cloned().or_else(|| env.get(env_name).cloned()).filter(|v| !v.is_empty())
    };
    let database_url = value("--database-url")
        .or_else(|| env.get("DATABASE_URL").cloned().filter(|v| !v.is_empty()))
        .ok_or("--database-url (or LLM_CLUSTERS_DATABASE_URL) is required")?;
    let listen_text = value("--listen").unwrap_or_else(|| "127.0.0.1:8010".to_string());
    let listen = listen_text
        .parse()
        .map_err(|_| format!("--listen {listen_text:?} is not HOST:PORT (an IP address and a port)"))?;
    let number = |flag: &str, default: u64, min: u64, max: u64| -> Result<u64, String> {
        match value(flag) {
            None => Ok(default),
            Some(text) => match text.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(format!("{flag} {text:?} must be a whole number from {min} to {max}")),
            },
        }
    };
    let access_log = match value("--access-log").as_deref() {
        None | Some("off" | "false" | "0") => false,
        Some("on" | "true" | "1") => true,
        Some(other) => return Err(format!("--access-log {other:?} must be on or off")),
    };
    let max_body_mb = number("--max-body-mb", 20, 1, 1024)?;
    let max_buffered_mb = number("--max-buffered-mb", 256, 1, 1 << 20)?;
    if max_buffered_mb < max_body_mb {
        return Err(format!(
            "--max-buffered-mb {max_buffered_mb} is less than --max-body-mb {max_body_mb}: a body of --max-body-mb could never be read"
        ));
    }
    // The upper bounds only catch typos; the file descriptor limit is checked at start.
    let max_connections = number("--max-connections", 512, 1, 1_000_000)? as usize;
    let max_connections_per_address =
        number("--max-connections-per-address", (max_connections as u64 / 4).max(1), 1, 1_000_000)? as usize;
    if max_connections_per_address > max_connections {
        return Err(format!(
            "--max-connections-per-address {max_connections_per_address} is more than --max-connections {max_connections}"
        ));
    }
    Ok(Command::Run(Box::new(Config {
        database_url,
        db_ca_file: value("--db-ca-file").map(PathBuf::from),
        listen,
        max_body_bytes: max_body_mb as usize * 1024 * 1024,
        max_buffered_bytes: max_buffered_mb as usize * 1024 * 1024,
        read_timeout: Duration::from_secs(number("--read-timeout-s", 30, 1, 3600)?),
        idle_timeout: Duration::from_secs(number("--idle-timeout-s", 10, 1, 3600)?),
        max_connections,
        max_connections_per_address,
        max_decoding: number("--max-decoding", 2, 1, 256)? as usize,
        decode_wait: Duration::from_secs(number("--decode-wait-s", 2, 1, 60)?),
        pool_size: number("--pool-size", 8, 1, 1000)? as usize,
        db_timeout: Duration::from_secs(number("--db-timeout-s", 5, 1, 600)?),
        shutdown_timeout: Duration::from_secs(number("--shutdown-timeout-s", 30, 0, 3600)?),
        access_log,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn run(list: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        match parse(&args(list), &env)? {
            Command::Run(config) => Ok(*config),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults_flags_and_environment() {
        let c = run(&["--database-url", "postgres://x@/db"], &[]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8010".parse().unwrap());
        assert_eq!((c.max_body_bytes, c.pool_size, c.access_log), (20 << 20, 8, false));
        assert_eq!(c.max_buffered_bytes, 256 << 20);
        assert_eq!((c.max_connections, c.max_connections_per_address, c.max_decoding), (512, 128, 2));
        assert_eq!((c.idle_timeout.as_secs(), c.decode_wait.as_secs()), (10, 2));
        let env = [("LLM_CLUSTERS_MAX_CONNECTIONS", "100"), ("LLM_CLUSTERS_IDLE_TIMEOUT_S", "3")];
        let c = run(&["--database-url", "x", "--max-decoding=2", "--decode-wait-s", "5"], &env).unwrap();
        assert_eq!(
            (c.max_connections, c.max_decoding, c.idle_timeout.as_secs(), c.decode_wait.as_secs()),
            (100, 2, 3, 5)
        );
        assert!(run(&["--database-url", "x", "--access-log", "on"], &[]).unwrap().access_log);
        let c = run(&["--listen=0.0.0.0:9000", "--max-body-mb", "2"], &[("DATABASE_URL", "host=/tmp")]).unwrap();
        assert_eq!((c.database_url.as_str(), c.listen.port(), c.max_body_bytes), ("host=/tmp", 9000, 2 << 20));
        // A flag wins over the environment, ours over DATABASE_URL.
        let env = [("LLM_CLUSTERS_DATABASE_URL", "ours"), ("DATABASE_URL", "generic"), ("LLM_CLUSTERS_POOL_SIZE", "3")];
        let c = run(&["--pool-size", "5"], &env).unwrap();
        assert_eq!((c.database_url.as_str(), c.pool_size), ("ours", 5));
        assert_eq!(run(&[], &env).unwrap().pool_size, 3);
        assert_eq!(run(&[], &env).unwrap().db_ca_file, None);
        let ca = run(&["--db-ca-file", "/etc/ssl/pg-ca.pem"], &env).unwrap().db_ca_file;
        assert_eq!(ca.as_deref(), Some(std::path::Path::new("/etc/ssl/pg-ca.pem")));
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        assert!(run(&[], &[]).unwrap_err().contains("--database-url"));
        assert!(run(&["--database-url"], &[]).unwrap_err().contains("needs a value"));
        assert!(run(&["--database-url", "x", "--listen", "localhost"], &[]).unwrap_err().contains("HOST:PORT"));
        assert!(run(&["--database-url", "x", "--pool-size", "0"], &[]).unwrap_err().contains("1 to 1000"));
        assert!(run(&["--database-url", "x", "--max-body-mb", "ten"], &[]).unwrap_err().contains("whole number"));
        assert!(run(&["--database-url", "x", "--verbose"], &[]).unwrap_err().contains("unknown argument"));
        assert!(run(&["--database-url", "x", "--access-log", "yes"], &[]).unwrap_err().contains("on or off"));
        assert_eq!(parse(&args(&["--help"]), &HashMap::new()), Ok(Command::Help));
        // Each new limit: 0, absurd and not-a-number are refused with the flag's name.
        let err = run(&["--database-url", "x", "--max-body-mb", "30", "--max-buffered-mb", "20"], &[]).unwrap_err();
        assert!(err.contains("less than --max-body-mb"), "{err}");
        let err = run(&["--database-url", "x", "--max-connections", "10", "--max-connections-per-address", "11"], &[])
            .unwrap_err();
        assert!(err.contains("more than --max-connections 10"), "{err}");
        let c = run(&["--database-url", "x", "--max-connections", "2"], &[]).unwrap();
        assert_eq!(c.max_connections_per_address, 1);
        for flag in [
            "--max-connections",
            "--max-connections-per-address",
            "--idle-timeout-s",
            "--max-decoding",
            "--decode-wait-s",
            "--max-buffered-mb",
        ] {
            for bad in ["0", "99999999999", "-1", "1e3", "lots"] {
                let err = run(&["--database-url", "x", flag, bad], &[]).unwrap_err();
                assert!(err.starts_with(flag) && err.contains("whole number"), "{flag} {bad}: {err}");
            }
            assert!(USAGE.contains(flag), "{flag} not in --help");
        }
    }
}
