//! A guard on a durable store (SQLite, Redis): calls submit jobs and return
//! at once; the store's thread answers each batch through one threadsafe
//! function call, so the JS thread wakes once per commit, not once per call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use napi::bindgen_prelude::{Float64Array, Function};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};

use super::commands;
use super::errors::{closed, store_error, Code, Result};
use super::options::{Settings, StoreUrl};
use super::replies::{inspect_out, text, BatchOut, EventOut, ExtraOut, STRIDE};
use crate::answer;
use crate::engine::{events_of, Command, Metrics};
use crate::store::job::{Answer, Completion, Job, JobKind};
use crate::store::redis::wire::Wire;
use crate::store::redis::RedisOptions;
use crate::store::sqlite::SqliteOptions;
use crate::store::{RedisStore, SqliteStore, StoreError};

type AnswerCallback = ThreadsafeFunction<Vec<Completion>, (), BatchOut, Status, false, true>;

/// The stores whose answers come later. Redis: its commands are computed on
/// the JS thread and sent on Node's socket (`wire`); the store's thread serves
/// inspections, which are walks of many round trips.
// One per guard: no box.
#[allow(clippy::large_enum_variant)]
enum DurableStore {
    Sqlite(SqliteStore),
    Redis { thread: RedisStore, wire: Wire },
}

impl DurableStore {
    fn submit(&mut self, job: Job) -> bool {
        match (self, job.kind) {
            (DurableStore::Sqlite(s), kind) => s.submit(Job { id: job.id, kind }),
            (DurableStore::Redis { wire, .. }, JobKind::Command { key, command }) => {
                wire.command(job.id, key, command);
                true
            }
            (DurableStore::Redis { thread, .. }, JobKind::Inspect(filter)) => {
                thread.inspect(job.id, filter)
            }
        }
    }
}

pub struct Durable {
    store: Mutex<Option<DurableStore>>,
    /// Counted on the JS thread as completions arrive.
    metrics: Arc<Mutex<Metrics>>,
    /// Shared with the store's thread, which calls it; the JS thread refs and
    /// unrefs it, and lets go of it (`dispose`) once the store's thread has exited.
    on_done: Arc<Mutex<Option<AnswerCallback>>>,
    /// Whether answers carry their events: only while the guard has listeners.
    events: Arc<AtomicBool>,
    /// Bytes of the namespace before each key, which answers leave out.
    namespace_len: usize,
}

impl Durable {
    /// Starts the store's thread; `on_done(completions)` receives every answer:
    /// id 0 the open itself, id 2^32-1 the store's thread having closed the file.
    pub fn open(settings: &Settings, on_done: Function<'_, BatchOut, ()>) -> Result<Self> {
        let namespace_len = commands::inspect_filter(settings, None, None, None, None, false)?
            .namespace_prefix
            .len();
        // Weak: an idle guard must not keep the process alive. The facade refs it
        // (`durableRef`) while answers are outstanding.
        let metrics = Arc::new(Mutex::new(Metrics::default()));
        let counted = metrics.clone();
        let events = Arc::new(AtomicBool::new(false));
        let with_events = events.clone();
        let tsfn: AnswerCallback = on_done
            .build_threadsafe_function::<Vec<Completion>>()
            .weak::<true>()
            .callee_handled::<false>()
            .build_callback(move |ctx| {
                let events = with_events.load(Ordering::Relaxed);
                Ok(convert_guarded(ctx.value, namespace_len, &counted, events))
            })
            .map_err(|e| napi::Error::new(Code::StoreUnavailable, e.reason.clone()))?;
        let on_done = Arc::new(Mutex::new(Some(tsfn)));
        let deliver_to = on_done.clone();
        let deliver = Box::new(move |batch: Vec<Completion>| {
            let slot = deliver_to.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(tsfn) = slot.as_ref() {
                tsfn.call(batch, ThreadsafeFunctionCallMode::NonBlocking);
            }
        });
        let store = match &settings.store {
            StoreUrl::Sqlite(path) => DurableStore::Sqlite(
                SqliteStore::start(
                    SqliteOptions {
                        path: path.clone(),
                        durability: settings.durability,
                        group_commit: settings.group_commit,
                        policy: settings.policy.clone(),
                    },
                    deliver,
                )
                .map_err(|e| {
                    napi::Error::new(
                        Code::StoreUnavailable,
                        format!("cannot start the store thread: {e}"),
                    )
                })?,
            ),
            StoreUrl::Redis(url) => DurableStore::Redis {
                wire: Wire::new(settings.policy.clone()),
                thread: RedisStore::start(
                    RedisOptions {
                        url: url.clone(),
                        connect_timeout: Duration::from_millis(settings.connect_timeout_ms),
                        command_timeout: Duration::from_millis(settings.command_timeout_ms),
                        tls: settings.tls.clone(),
                    },
                    deliver,
                )
                .map_err(store_error)?,
            },
            StoreUrl::Memory => unreachable!("the memory store is not durable"),
        };
        Ok(Durable {
            metrics,
            store: Mutex::new(Some(store)),
            on_done,
            events,
            namespace_len,
        })
    }
}

/// `convert`, answering every call of the batch with the panic if it panics:
/// the facade waits for each id it submitted.
fn convert_guarded(
    batch: Vec<Completion>,
    namespace_len: usize,
    metrics: &Mutex<Metrics>,
    events: bool,
) -> BatchOut {
    let ids: Vec<u32> = batch.iter().map(|(id, _)| *id).collect();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        convert(batch, namespace_len, metrics, events)
    }))
    .unwrap_or_else(|payload| {
        let err = StoreError::from_panic(payload.as_ref());
        let batch = ids.into_iter().map(|id| (id, Err(err.clone()))).collect();
        convert(batch, namespace_len, metrics, events)
    })
}

fn convert(
    batch: Vec<Completion>,
    namespace_len: usize,
    metrics: &Mutex<Metrics>,
    with_events: bool,
) -> BatchOut {
    let mut numbers = vec![0.0; batch.len() * STRIDE];
    let mut texts = String::new();
    // One answer's strings, before they join the batch's.
    let mut one = String::new();
    let mut extras = Vec::new();
    let extra = |index: usize| ExtraOut {
        index: index as u32,
        inspection: None,
        error_code: None,
        error_message: None,
        events: None,
    };
    for (index, ((id, result), numbers)) in batch
        .into_iter()
        .zip(numbers.chunks_exact_mut(STRIDE))
        .enumerate()
    {
        let (head, slots) = numbers.split_at_mut(2);
        head[0] = f64::from(id);
        head[1] = -1.0;
        match result {
            Ok(Answer::Opened | Answer::Closed) => {}
            Ok(Answer::Executed { executed, key }) => {
                let key = &key[namespace_len..];
                metrics
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .record(&executed.reply);
                // Answers of durable stores carry everything: the batch does not know the calls.
                answer::encode_into(
                    &executed.reply,
                    executed.now,
                    slots,
                    answer::Known::default(),
                    &mut one,
                );
                if !one.is_empty() {
                    // JS cuts the batch's string in UTF-16 units.
                    head[1] = if one.is_ascii() {
                        one.len()
                    } else {
                        one.encode_utf16().count()
                    } as f64;
                    texts.push_str(&one);
                }
                let events = if with_events {
                    events_of(&executed.reply)
                } else {
                    Vec::new()
                };
                if !events.is_empty() {
                    extras.push(ExtraOut {
                        events: Some(
                            events
                                .into_iter()
                                .map(|e| EventOut::new(e, key, executed.now))
                                .collect(),
                        ),
                        ..extra(index)
                    });
                }
            }
            Ok(Answer::Inspected(found)) => extras.push(ExtraOut {
                inspection: Some(inspect_out(found)),
                ..extra(index)
            }),
            Err(e) => {
                let err = store_error(e);
                extras.push(ExtraOut {
                    error_code: Some(err.status.as_ref().to_owned()),
                    error_message: Some(err.reason.clone()),
                    ..extra(index)
                });
            }
        }
    }
    BatchOut {
        numbers: Float64Array::new(numbers),
        texts: text(texts),
        extras: (!extras.is_empty()).then_some(extras),
    }
}

impl Durable {
    pub fn submit(&self, id: u32, kind: JobKind) -> Result<()> {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        match store.as_mut().map(|s| s.submit(Job { id, kind })) {
            Some(true) => Ok(()),
            Some(false) => Err(napi::Error::new(
                Code::StoreUnavailable,
                "the store's thread has stopped".to_owned(),
            )),
            None => Err(closed()),
        }
    }

    pub fn command(&self, settings: &Settings, id: u32, key: &str, command: Command) -> Result<()> {
        let key = commands::key(settings, key)?.into_owned();
        self.submit(id, JobKind::Command { key, command })
    }

    /// Keeps the process alive while answers are outstanding (`on`), or not.
    #[allow(deprecated)] // napi_ref/unref_threadsafe_function is exactly this toggle.
    pub fn hold(&self, env: &Env, on: bool) -> Result<()> {
        let mut slot = self.on_done.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(tsfn) = slot.as_mut() else {
            return Ok(());
        };
        let r = if on { tsfn.refer(env) } else { tsfn.unref(env) };
        r.map_err(|e| napi::Error::new(Code::StoreUnavailable, e.reason.clone()))
    }

    /// Lets go of the callback once the store's thread has exited (its last
    /// answer, the close, was delivered): no handle of this guard outlives `close()`.
    pub fn dispose(&self) {
        drop(
            self.on_done
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }

    /// The Redis store's wire (see `wire`), or why there is none.
    pub fn with_wire<T>(&self, f: impl FnOnce(&mut Wire, &Self) -> T) -> Result<T> {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        match store.as_mut() {
            Some(DurableStore::Redis { wire, .. }) => Ok(f(wire, self)),
            Some(_) => Err(super::errors::invalid("the wire is the Redis store's")),
            None => Err(closed()),
        }
    }

    /// Completions converted as the store's thread's are.
    pub fn converted(&self, batch: Vec<Completion>) -> BatchOut {
        convert_guarded(
            batch,
            self.namespace_len,
            &self.metrics,
            self.events.load(Ordering::Relaxed),
        )
    }

    pub fn metrics(&self) -> Metrics {
        self.metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_events_enabled(&self, on: bool) {
        self.events.store(on, Ordering::Relaxed);
    }

    /// Stops taking jobs; those already submitted are still answered.
    pub fn close(&self) {
        // Dropping the store drops its job sender; the writer thread drains what
        // is queued, answers it and exits, without blocking this thread.
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}
