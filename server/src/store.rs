//! The database side: a pool of connections (as a member of `llm_clusters_ingest`) and
//! one `capture_with_key` call per request, so a request is stored whole or not at all.
//! Errors become the statuses SDKs act on: 401 for a bad key, 400 for a bad event, 503
//! while the database cannot answer (SDKs retry; the pool reconnects by itself).

use crate::error::{Rejection, Status};
use crate::fair::{key_client, FairSlots};
use crate::tls;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use serde_json::Value;
use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

const CAPTURE: &str = "SELECT llm_clusters.capture_with_key($1, $2)";
/// An empty batch: capture_with_key checks the key (28000 when wrong or revoked) and
/// stores nothing. What the server asks before decoding a body.
const CHECK_KEY: &str = "SELECT llm_clusters.capture_with_key($1, '{\"batch\": []}'::jsonb)";

/// How long a health check's answer stands: /healthz asks the database at most this often.
const HEALTH_FRESH: Duration = Duration::from_secs(1);

pub struct Store {
    pool: Pool,
    /// Connections that key checks and health checks may hold at once: half the pool, at
    /// least one. Anonymous clients send those as they like (a made-up key is checked
    /// each time: only accepted keys are remembered), and a flood of them held every
    /// connection, so every team's events got 503. The other half stores events.
    asked_by_anyone: Semaphore,
    /// Connections storing events, shared fairly among keys (`fair`): first come, first
    /// served let one key's holder whose requests each take seconds to refuse (a large body
    /// failing on its last event) queue ahead of every other team's, which waited out
    /// `--db-timeout-s` and got 503.
    storing: Arc<FairSlots>,
    /// How long a key or health check waits for its share, as for a connection.
    wait: Duration,
    /// When the database last answered a health check.
    healthy_at: Mutex<Option<Instant>>,
}

impl Store {
    /// A pool of at most `size` connections; connecting and waiting for a free connection
    /// each give up after `timeout` (then the request gets 503). Connects lazily. TLS when
    /// the URL says `sslmode=require` (see `tls`); otherwise none, as `prefer` is read here:
    /// a TLS whose certificate nobody checks would only look safe.
    pub fn new(database_url: &str, ca_file: Option<&Path>, size: usize, timeout: Duration) -> Result<Store, String> {
        let mut config =
            tokio_postgres::Config::from_str(database_url).map_err(|e| format!("--database-url is not valid: {e}"))?;
        if config.get_application_name().is_none() {
            config.application_name("llm-clusters-server");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(timeout);
        }
        let pooling = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = match (config.get_ssl_mode(), ca_file) {
            (SslMode::Require, _) => Manager::from_config(config, tls::connector(ca_file)?, pooling),
            (_, Some(_)) => return Err("--db-ca-file is for TLS: add sslmode=require to --database-url".into()),
            (_, None) => Manager::from_config(config, NoTls, pooling),
        };
        let pool = Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(|e| format!("cannot build the connection pool: {e}"))?;
        Ok(Store {
            pool,
            asked_by_anyone: Semaphore::new((size / 2).max(1)),
            storing: FairSlots::new(size),
            wait: timeout,
            healthy_at: Mutex::new(None),
        })
    }

    /// `ask` within the key and health checks' share of the pool; 503 when the share
    /// stays taken for the pool's timeout (SDKs retry).
    async fn within_share<T>(&self, ask: impl Future<Output = Result<T, Rejection>>) -> Result<T, Rejection> {
        let Ok(Ok(_permit)) = tokio::time::timeout(self.wait, self.asked_by_anyone.acquire()).await else {
            return Err(Rejection::new(
                Status::Unavailable,
                "busy",
                "the database connections for key checks are all in use; retry",
            ));
        };
        ask.await
    }

    /// Stores the payload under the key's team; returns how many events were new.
    pub async fn capture(&self, api_key: &str, payload: &Value) -> Result<i64, Rejection> {
        let Some(_turn) = self.storing.acquire(&key_client(api_key), self.wait).await else {
            return Err(Rejection::new(
                Status::Unavailable,
                "busy",
                "the database connections that store events are all in use; retry",
            ));
        };
        let client = self.pool.get().await.map_err(unavailable)?;
        let statement = client.prepare_cached(CAPTURE).await.map_err(|e| classify(&e))?;
        let row = client.query_one(&statement, &[&api_key, payload]).await.map_err(|e| classify(&e))?;
        row.try_get::<_, i64>(0).map_err(|e| classify(&e))
    }

    /// Ok when the key is valid now (401 when not, 503 when the database cannot say).
    pub async fn check_key(&self, api_key: &str) -> Result<(), Rejection> {
        self.within_share(async {
            let client = self.pool.get().await.map_err(unavailable)?;
            let statement = client.prepare_cached(CHECK_KEY).await.map_err(|e| classify(&e))?;
            client.query_one(&statement, &[&api_key]).await.map(|_| ()).map_err(|e| classify(&e))
        })
        .await
    }

    /// Whether the database answers (GET /healthz): asked at most once a second.
    pub async fn ping(&self) -> Result<(), Rejection> {
        if self.answered_lately() {
            return Ok(());
        }
        self.within_share(async {
            if self.answered_lately() {
                return Ok(());
            }
            let client = self.pool.get().await.map_err(unavailable)?;
            client.simple_query("SELECT 1").await.map(|_| ()).map_err(|e| classify(&e))?;
            if let Ok(mut at) = self.healthy_at.lock() {
                *at = Some(Instant::now());
            }
            Ok(())
        })
        .await
    }

    fn answered_lately(&self) -> bool {
        self.healthy_at.lock().is_ok_and(|at| at.is_some_and(|at| at.elapsed() < HEALTH_FRESH))
    }

    /// Whether the role the server connects as is a superuser (it should not be).
    pub async fn connected_as_superuser(&self) -> Result<bool, Rejection> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let row = client
            .query_one("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user", &[])
            .await
            .map_err(|e| classify(&e))?;
        row.try_get(0).map_err(|e| classify(&e))
    }
}

/// A connection the pool could not give: always 503 (SDKs retry), whatever PostgreSQL
/// said while connecting: a refused login (28000, e.g. pg_hba or a password) is about the
/// server's own role, not the request's API key, so it must not become a 401.
fn unavailable(err: PoolError) -> Rejection {
    let detail = match err {
        PoolError::Backend(e) => match e.as_db_error() {
            Some(db) => format!("database connection: {} ({})", db.message(), db.code().code()),
            None => connection_failure(&e),
        },
        PoolError::Timeout(_) => "no database connection within the timeout".to_string(),
        other => other.to_string(),
    };
    Rejection::new(Status::Unavailable, "database_unavailable", detail)
}

/// A failed connection with its causes ("error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer").
fn connection_failure(err: &tokio_postgres::Error) -> String {
    let mut text = format!("database connection: {err}");
    let mut cause = std::error::Error::source(err);
    while let Some(e) = cause {
        text.push_str(&format!(": {e}"));
        cause = e.source();
    }
    text
}

/// The status of a database error, by its SQLSTATE; no SQLSTATE means the connection
/// itself failed.
fn classify(err: &tokio_postgres::Error) -> Rejection {
    let Some(db) = err.as_db_error() else {
        return Rejection::new(Status::Unavailable, "database_unavailable", connection_failure(err));
    };
    let code = db.code();
    let class = &code.code()[..2];
    let message = db.message().to_string();
    if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
        Rejection::new(Status::Unauthorized, "invalid_api_key", message)
    } else if *code == SqlState::PROGRAM_LIMIT_EXCEEDED {
        Rejection::new(Status::PayloadTooLarge, "payload_too_large", message)
    } else if class == "22" {
        // Data exceptions: the event that capture() refused and why.
        Rejection::bad_request("invalid_payload", message)
    } else if matches!(class, "08" | "53" | "57" | "40") || *code == SqlState::LOCK_NOT_AVAILABLE {
        // Connection, resources, shutdown or cancel, serialization: worth a retry.
        Rejection::new(Status::Unavailable, "database_unavailable", message)
    } else {
        Rejection::new(Status::Internal, "database_error", format!("{} ({})", message, code.code()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Key and health checks, which anyone may send, hold at most half the pool: with
    /// them all waiting on the database, one more gets 503 after the wait, and the other
    /// half stays for storing events.
    #[tokio::test]
    async fn key_checks_take_at_most_half_the_pool() {
        let wait = Duration::from_millis(200);
        let store = std::sync::Arc::new(Store::new("host=127.0.0.1 port=1 user=x", None, 8, wait).unwrap());
        let (release, held) = tokio::sync::watch::channel(false);
        let mut holders = Vec::new();
        for _ in 0..4 {
            let (store, mut held) = (store.clone(), held.clone());
            holders.push(tokio::spawn(async move {
                store
                    .within_share(async move {
                        held.wait_for(|released| *released).await.map(|_| ()).map_err(|_| unreachable_db())
                    })
                    .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(store.asked_by_anyone.available_permits(), 0, "4 of 8 connections are the checks' share");
        let refused = store.within_share(async { Ok(()) }).await.unwrap_err();
        assert_eq!((refused.status, refused.to_string().contains("retry")), (Status::Unavailable, true));
        release.send(true).unwrap();
        for holder in holders {
            holder.await.unwrap().unwrap();
        }
        assert!(store.within_share(async { Ok(()) }).await.is_ok(), "free again");
        assert_eq!(Store::new("host=127.0.0.1 user=x", None, 1, wait).unwrap().asked_by_anyone.available_permits(), 1);
        drop(held);
    }

    /// A health check answered within the last second is not asked again: a flood of
    /// /healthz costs the database one query a second.
    #[tokio::test]
    async fn a_fresh_health_answer_is_reused() {
        let store = Store::new("host=127.0.0.1 port=1 user=x", None, 2, Duration::from_millis(200)).unwrap();
        assert_eq!(store.ping().await.unwrap_err().status, Status::Unavailable, "nothing listens on port 1");
        *store.healthy_at.lock().unwrap() = Some(Instant::now());
        assert!(store.ping().await.is_ok(), "answered from the last check, not from port 1");
        *store.healthy_at.lock().unwrap() = Some(Instant::now() - HEALTH_FRESH);
        assert!(store.ping().await.is_err(), "a stale answer asks again");
    }

    fn unreachable_db() -> Rejection {
        Rejection::new(Status::Unavailable, "test", "released")
    }

    #[test]
    fn tls_only_with_sslmode_require_and_a_usable_ca_file() {
        let second = Duration::from_secs(1);
        let missing = Path::new("/nonexistent/ca.pem");
        assert!(Store::new("host=127.0.0.1 user=ingest", None, 1, second).is_ok(), "no TLS");
        assert!(
            Store::new("host=127.0.0.1 user=ingest sslmode=require", None, 1, second).is_ok(),
            "TLS, Mozilla roots"
        );
        let err = Store::new("host=127.0.0.1 user=ingest", Some(missing), 1, second).err().unwrap();
        assert!(err.contains("add sslmode=require"), "{err}");
        let err = Store::new("host=127.0.0.1 user=ingest sslmode=require", Some(missing), 1, second).err().unwrap();
        assert!(err.starts_with("--db-ca-file /nonexistent/ca.pem"), "{err}");
        let err = Store::new("host=127.0.0.1 sslmode=sometimes", None, 1, second).err().unwrap();
        assert!(err.contains("--database-url is not valid"), "{err}");
    }
}
