//! Check-and-sets of concurrent commands, sent together: those waiting when the
//! batch task runs go out as one script call, and a new batch does not wait for
//! the previous one to be answered (the connection pipelines them). A script
//! call costs the server several times the reads and writes inside it, so with
//! many commands in flight this is what lets the server keep up; alone, a
//! command is a batch of one and waits for nothing.

use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};

use super::scripts::{self, Cas, Checked};
use crate::store::StoreError;

/// At most this many keys in one script call (on a server in cluster mode, one:
/// a script may name keys of one hash slot only, and each guard has a slot of its own). Past ~16 the server's saving is
/// small (~3.5 µs a key at 16 or 64, against ~9 µs a call alone) while larger
/// batches make the JS thread, this thread and the server take turns on one
/// convoy of calls: 64 in flight ran at ~45k pairs/s with 128, ~52k with 16.
const MAX_BATCH: usize = 16;

type Reply = oneshot::Sender<Result<Checked, StoreError>>;

#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::UnboundedSender<(Cas, Reply)>,
}

impl Batcher {
    /// Starts the batch task on the current tokio runtime; it ends when the
    /// last `Batcher` is dropped. `cluster`: the server runs in cluster mode.
    pub fn start(conn: ConnectionManager, cluster: bool) -> Batcher {
        let max = if cluster { 1 } else { MAX_BATCH };
        let (tx, mut rx) = mpsc::unbounded_channel::<(Cas, Reply)>();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            while rx.recv_many(&mut batch, max).await > 0 {
                tokio::spawn(send(conn.clone(), std::mem::take(&mut batch)));
            }
        });
        Batcher { tx }
    }

    pub async fn check_and_set(&self, cas: Cas) -> Result<Checked, StoreError> {
        let (reply, answer) = oneshot::channel();
        let gone = || StoreError::Unavailable("Redis: the store is closing".into());
        self.tx.send((cas, reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn send(mut conn: ConnectionManager, batch: Vec<(Cas, Reply)>) {
    let (entries, replies): (Vec<Cas>, Vec<Reply>) = batch.into_iter().unzip();
    match scripts::check_and_set(&mut conn, &entries).await {
        Ok(checked) => {
            for (reply, c) in replies.into_iter().zip(checked) {
                let _ = reply.send(Ok(c));
            }
        }
        Err(e) => {
            let err = super::unavailable(e);
            for reply in replies {
                let _ = reply.send(Err(err.clone()));
            }
        }
    }
}

/// Whether the server runs in cluster mode, where a script naming keys of
/// several hash slots is refused (even on one node that serves every slot).
/// Unknown (INFO refused) counts as yes: batches of one work everywhere.
pub async fn cluster_mode(conn: &mut ConnectionManager) -> bool {
    let info: redis::RedisResult<String> =
        redis::cmd("INFO").arg("cluster").query_async(conn).await;
    info.map_or(true, |text| {
        !text.lines().any(|l| l.trim() == "cluster_enabled:0")
    })
}
