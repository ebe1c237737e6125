//! The store-conformance suite: one sequence of commands and the answers every
//! store must give, run unchanged against the memory store, an SQLite file and
//! a redis-server started here (`__test__/conformance.mjs` is its JS twin).
//! Each store is driven as the binding drives it: the memory store by direct
//! calls, SQLite by jobs answered on its own thread, Redis's calls on the wire
//! and its inspections on its thread.

use std::net::TcpListener;
use std::process::{Child, Command as Process, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::job::{Answer, Completion, Job, JobKind, CLOSED_ID, OPEN_ID};
use std::io::{Read, Write};

use super::redis::wire::Wire;
use super::redis::RedisOptions;
use super::sqlite::{Durability, SqliteOptions};
use super::{InspectFilter, Inspection, MemoryStore, RedisStore, SqliteStore};
use crate::engine::{
    Acquire, AcquireReply, ApproveReply, ApproveRetry, Command, ForceRelease, ForceReleaseReply,
    GuardState, Heartbeat, HeartbeatReply, Policy, Release, ReleaseReply, ReleaseStatus, Reply,
    RunId, RunInfo,
};

/// A store as the suite sees it.
trait Driven {
    fn run(&mut self, key: &str, command: Command) -> Reply;
    fn inspect(&mut self) -> Inspection;
}

struct Memory(MemoryStore, Policy);

impl Driven for Memory {
    fn run(&mut self, key: &str, command: Command) -> Reply {
        self.0.execute(key, command, &self.1).unwrap().reply
    }
    fn inspect(&mut self) -> Inspection {
        self.0.inspect(&everything()).unwrap()
    }
}

/// A durable store: a job in, its answer out.
struct Jobs<S> {
    store: Option<S>,
    submit: fn(&S, Job) -> bool,
    answers: mpsc::Receiver<Completion>,
    next: u32,
}

impl<S> Jobs<S> {
    fn start(
        start: impl FnOnce(super::job::DeliverAnswers) -> S,
        submit: fn(&S, Job) -> bool,
    ) -> Self {
        let (tx, answers) = mpsc::channel();
        let store = start(Box::new(move |batch| {
            for c in batch {
                let _ = tx.send(c);
            }
        }));
        let (id, opened) = answers.recv().unwrap();
        assert_eq!(id, OPEN_ID);
        assert!(opened.is_ok(), "the store did not open");
        Jobs {
            store: Some(store),
            submit,
            answers,
            next: 1,
        }
    }

    fn ask(&mut self, kind: JobKind) -> Answer {
        let id = self.next;
        self.next += 1;
        assert!((self.submit)(
            self.store.as_ref().unwrap(),
            Job { id, kind }
        ));
        let (got, answer) = self.answers.recv().unwrap();
        assert_eq!(got, id);
        answer.unwrap_or_else(|e| panic!("{e}"))
    }
}

impl<S> Drop for Jobs<S> {
    fn drop(&mut self) {
        self.store.take();
        while let Ok((id, _)) = self.answers.recv() {
            if id == CLOSED_ID {
                break;
            }
        }
    }
}

impl<S> Driven for Jobs<S> {
    fn run(&mut self, key: &str, command: Command) -> Reply {
        let key = key.to_owned();
        match self.ask(JobKind::Command { key, command }) {
            Answer::Executed { executed, .. } => executed.reply,
            _ => panic!("a command answered something else"),
        }
    }
    fn inspect(&mut self) -> Inspection {
        match self.ask(JobKind::Inspect(everything())) {
            Answer::Inspected(found) => found,
            _ => panic!("an inspect answered something else"),
        }
    }
}

fn everything() -> InspectFilter {
    InspectFilter {
        namespace_prefix: String::new(),
        prefix: String::new(),
        state: None,
        limit: 100,
        after: None,
        counts: true,
    }
}

fn acquire(ttl_ms: u64) -> Command {
    Command::Acquire(Acquire {
        owner: Some("alice".into()),
        ttl_ms: Some(ttl_ms),
        meta: Some(r#"{"n":1}"#.into()),
        fingerprint: None,
    })
}

fn release(run: &RunInfo, status: ReleaseStatus) -> Command {
    Command::Release(Release {
        run_id: run.run_id.clone(),
        status,
        error: Some("boom".into()),
        result: None,
    })
}

fn heartbeat(run_id: &RunId) -> Command {
    Command::Heartbeat(Heartbeat {
        run_id: run_id.clone(),
        ttl_ms: Some(90_000),
    })
}

fn granted(reply: Reply) -> (RunInfo, Option<RunInfo>) {
    match reply {
        Reply::Acquire(AcquireReply::Acquired { run, healed_from }) => {
            (run, healed_from.map(|h| *h))
        }
        r => panic!("not granted: {r:?}"),
    }
}

/// The suite. `k` is a key no earlier run of the suite on this store used.
fn every_answer(s: &mut dyn Driven, k: &str) {
    let other = RunId::parse("0189f7a2-3b4c-7d5e-8f60-123456789abc");
    let (a, healed) = granted(s.run(k, acquire(60_000)));
    assert!(healed.is_none());
    assert_eq!((a.attempt, a.expires_at - a.started_at), (1, 60_000));
    assert_eq!(
        s.run(k, acquire(60_000)),
        Reply::Acquire(AcquireReply::AlreadyRunning(a.clone()))
    );
    assert!(matches!(
        s.run(k, heartbeat(&a.run_id)),
        Reply::Heartbeat(HeartbeatReply::Extended { expires_at }) if expires_at > a.expires_at
    ));
    assert_eq!(
        s.run(k, heartbeat(&other)),
        Reply::Heartbeat(HeartbeatReply::NotOwner)
    );
    assert!(matches!(
        s.run(k, release(&a, ReleaseStatus::Failed)),
        Reply::Release(ReleaseReply::Released { run_id, status: ReleaseStatus::Failed, .. }) if run_id == a.run_id
    ));
    assert_eq!(
        s.run(k, release(&a, ReleaseStatus::Succeeded)),
        Reply::Release(ReleaseReply::AlreadyReleased)
    );
    assert!(matches!(
        s.run(k, acquire(60_000)),
        Reply::Acquire(AcquireReply::AwaitingApproval { failed_run_id, ref error, .. })
            if failed_run_id == a.run_id && error.as_deref() == Some("boom")
    ));
    let found = s.inspect();
    let (_, view) = found.guards.iter().find(|(key, _)| key == k).unwrap();
    assert_eq!(view.state, GuardState::Failed);
    assert_eq!(view.meta.as_deref(), Some(r#"{"n":1}"#));
    let approve = || {
        Command::ApproveRetry(ApproveRetry {
            approved_by: Some("ops".into()),
            reason: None,
        })
    };
    assert!(matches!(
        s.run(k, approve()),
        Reply::ApproveRetry(ApproveReply::Approved {
            next_attempt: 2,
            ..
        })
    ));
    assert_eq!(
        s.run(k, approve()),
        Reply::ApproveRetry(ApproveReply::NotFailed)
    );
    let (b, _) = granted(s.run(k, acquire(50)));
    assert_eq!(b.attempt, 2);
    assert!(b.fencing_token > a.fencing_token);
    // Every store here reads a real clock: the lease must really end.
    std::thread::sleep(Duration::from_millis(80));
    let (c, healed) = granted(s.run(k, acquire(60_000)));
    assert_eq!(healed.map(|h| h.run_id), Some(b.run_id.clone()));
    assert_eq!(
        s.run(k, release(&b, ReleaseStatus::Succeeded)),
        Reply::Release(ReleaseReply::Lost)
    );
    let force = || {
        Command::ForceRelease(ForceRelease {
            by: Some("ops".into()),
            reason: None,
        })
    };
    assert!(matches!(
        s.run(k, force()),
        Reply::ForceRelease(ForceReleaseReply::Released { run_id, .. }) if run_id == c.run_id
    ));
    assert_eq!(
        s.run(k, force()),
        Reply::ForceRelease(ForceReleaseReply::NotRunning)
    );
    assert_eq!(
        s.run(&format!("{k}-idle"), release(&c, ReleaseStatus::Succeeded)),
        Reply::Release(ReleaseReply::NotRunning)
    );
}

#[test]
fn memory_store_conforms() {
    every_answer(
        &mut Memory(MemoryStore::new(60_000), Policy::default()),
        "k",
    );
}

#[test]
fn sqlite_store_conforms() {
    let dir = std::env::temp_dir().join(format!("task-guard-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("guards.db");
    let _ = std::fs::remove_file(&path);
    let mut s = Jobs::start(
        |deliver| {
            let options = SqliteOptions {
                path,
                durability: Durability::Normal,
                group_commit: true,
                policy: Policy::default(),
            };
            SqliteStore::start(options, deliver).unwrap()
        },
        SqliteStore::submit,
    );
    every_answer(&mut s, "k");
}

/// A redis-server of the test's own on a free port, stopped when dropped.
struct RedisServer(Child, u16);

impl RedisServer {
    fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Process::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = RedisServer(child, port);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn redis_store_conforms() {
    let Some(server) = RedisServer::start() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server is required in CI"
        );
        eprintln!("redis-server is not installed: skipped");
        return;
    };
    let url = format!("redis://127.0.0.1:{}/0", server.1);
    let inspections = Jobs::start(
        |deliver| {
            let options = RedisOptions {
                url,
                connect_timeout: Duration::from_secs(5),
                command_timeout: Duration::from_secs(5),
                tls: None,
            };
            RedisStore::start(options, deliver).unwrap()
        },
        |s: &RedisStore, job: Job| match job.kind {
            JobKind::Inspect(filter) => s.inspect(job.id, filter),
            JobKind::Command { .. } => false,
        },
    );
    let socket = std::net::TcpStream::connect(("127.0.0.1", server.1)).unwrap();
    let mut s = OnWire {
        wire: Wire::new(Policy::default()),
        socket,
        inspections,
        next: 1,
    };
    let hello = s.wire.handshake(None, None, 0);
    s.socket.write_all(&hello).unwrap();
    while !s.wire.take_opened() {
        s.read();
    }
    every_answer(&mut s, "k");
}

/// The Redis store as the binding drives it: calls on the wire over a socket
/// (Node's, there; a blocking one here), inspections on the store's thread.
struct OnWire {
    wire: Wire,
    socket: std::net::TcpStream,
    inspections: Jobs<RedisStore>,
    next: u32,
}

impl OnWire {
    fn read(&mut self) {
        let mut buf = [0u8; 4096];
        let n = self.socket.read(&mut buf).unwrap();
        assert!(n > 0, "redis-server closed the connection");
        if self.wire.input(&buf[..n]).is_err() {
            panic!("the wire could not read the server's reply");
        }
    }
}

impl Driven for OnWire {
    fn run(&mut self, key: &str, command: Command) -> Reply {
        let id = self.next;
        self.next += 1;
        self.wire.command(id, key.to_owned(), command);
        loop {
            let out = self.wire.output();
            self.socket.write_all(&out).unwrap();
            if let Some((_, answer)) = self
                .wire
                .take_done()
                .into_iter()
                .find(|(got, _)| *got == id)
            {
                match answer.unwrap_or_else(|e| panic!("{e}")) {
                    Answer::Executed { executed, .. } => return executed.reply,
                    _ => panic!("a command answered something else"),
                }
            }
            self.read();
        }
    }
    fn inspect(&mut self) -> Inspection {
        self.inspections.inspect()
    }
}
