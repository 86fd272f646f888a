//! Knowing when the state changed: PostgreSQL's `LISTEN/NOTIFY` wake-ups, SQLite's
//! `data_version`.

use std::time::Duration;

use sqlx::Any;

use super::{Backend, Pool};

/// The channel prefix the PostgreSQL state database notifies on when what the console polls
/// changes; the channel is `cutover_state:<schema>`, so workspaces sharing a database do not
/// wake each other.
pub const CHANNEL: &str = "cutover_state";

/// Wakes `nudge` whenever the PostgreSQL state database at `url` notifies its workspace's
/// channel ([`CHANNEL`]), at most
/// every 100 ms, for as long as the process runs. A notification is a hint to poll now; the
/// poll on its interval stays the truth, so a lost connection only costs promptness (it is
/// retried every few seconds). Does nothing on SQLite.
pub async fn wake_on_notify(url: String, nudge: std::sync::Arc<tokio::sync::Notify>) {
    if !matches!(Backend::of_url(&url, "state"), Ok(Backend::Postgres)) {
        return;
    }
    loop {
        let listen = async {
            let mut l = sqlx::postgres::PgListener::connect(&url).await?;
            let schema: String = sqlx::query_scalar("SELECT current_schema()")
                .fetch_one(&mut l)
                .await?;
            l.listen(&format!("{CHANNEL}:{schema}")).await?;
            loop {
                l.recv().await?;
                nudge.notify_one();
                tokio::time::sleep(Duration::from_millis(100)).await;
                // Fold what arrived meanwhile into the poll just asked for.
                while l.next_buffered().is_some() {}
            }
        };
        let r: sqlx::Result<()> = listen.await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "state notifications lost; polling on the interval");
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Tells whether the state database changed since the last ask, as cheaply as the engine
/// allows: SQLite's `PRAGMA data_version` on one held connection (it moves when any other
/// connection commits). PostgreSQL has no such counter, so there it always says yes (its
/// consoles are woken by `NOTIFY` instead).
pub struct ChangeWatch {
    pool: Pool,
    conn: Option<sqlx::pool::PoolConnection<Any>>,
    version: Option<i64>,
}

impl ChangeWatch {
    /// A new value from its parts.
    pub fn new(pool: Pool) -> Self {
        ChangeWatch {
            pool,
            conn: None,
            version: None,
        }
    }

    /// Whether anything committed since the last call (true on the first call, on PostgreSQL,
    /// and whenever the check itself fails).
    pub async fn changed(&mut self) -> bool {
        if Backend::of_pool(&self.pool) != Backend::Sqlite {
            return true;
        }
        if self.conn.is_none() {
            self.conn = self.pool.acquire().await.ok();
        }
        let Some(conn) = self.conn.as_mut() else {
            return true;
        };
        match sqlx::query_scalar::<_, i64>("PRAGMA data_version")
            .fetch_one(&mut **conn)
            .await
        {
            Ok(v) => self.version.replace(v) != Some(v),
            Err(_) => {
                self.conn = None;
                self.version = None;
                true
            }
        }
    }
}
