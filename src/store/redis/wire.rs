//! The Redis store's calls, computed on the JS thread. The socket is Node's
//! (`lib/redis-socket.js`); this holds everything else: the view, the engine's
//! step (`step`, as the store's thread runs it), the scripts' bytes and their
//! replies. JS hands over what the socket read and writes what this returns,
//! so a call costs no thread hand-off, and the calls made in one turn of the
//! event loop go out in one write. Replies come back in the order the commands
//! were sent (RESP), which is how each is matched to its calls (`sent`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use super::scripts::{self, Cas, Checked};
use super::stamp::{self, Expected};
use super::{awake, guard_key, resp};
use crate::engine::{apply, Command, Context, Policy, Record, Reply};
use crate::store::job::{Answer, Completion};
use crate::store::{codec, new_run_id, Executed, StoreError};

/// Compare-and-set attempts before a command gives up as unavailable: only
/// reached if the key changes under every attempt.
const MAX_ATTEMPTS: usize = 64;

/// At most this many keys in one script call (on a server in cluster mode, one:
/// a script may name keys of one hash slot only, and each guard has a slot of
/// its own). Past ~16 the server's saving is small (~3.5 µs a key at 16 or 64,
/// against ~9 µs a call alone).
const MAX_BATCH: usize = 16;

/// Cached records beyond this are dropped wholesale: the cache is only a guess.
const MAX_CACHED: usize = 100_000;

/// Bytes one `output` gives at most (one batch past it at most); what is left
/// goes with the next, when replies come. A write crosses to JS as one string,
/// which V8 caps at ~512 MiB: a burst of ~700k calls in one turn would not fit.
const MAX_OUTPUT: usize = 16 << 20;

/// A record as this guard last saw it on the server: what a write is checked
/// against (its stamp), and what its text decodes to (kept decoded: decoding
/// was a quarter of the store's work per call).
struct Seen {
    expected: Expected,
    record: Record,
}

/// This guard's last view of the server: records by key, and the server's clock.
#[derive(Default)]
struct View {
    records: HashMap<String, Seen>,
    /// The server's time in ms, and when it was received.
    clock: Option<(i64, Instant)>,
}

impl View {
    /// `record` must be what the text `expected` names decodes to.
    fn remember(&mut self, key: &str, expected: Expected, record: Record, server_now: i64) {
        if self.records.len() >= MAX_CACHED {
            self.records.clear();
        }
        match self.records.get_mut(key) {
            Some(seen) => *seen = Seen { expected, record },
            None => {
                self.records
                    .insert(key.to_owned(), Seen { expected, record });
            }
        }
        self.saw_time(server_now);
    }

    fn saw_time(&mut self, server_now: i64) {
        self.clock = Some((server_now, Instant::now()));
    }

    /// The record as last seen (a key never seen is guessed absent: if it is
    /// not, the check says so and returns it) and the server's time now, as far
    /// as this guard knows; a millisecond early, so the guess is not ahead of
    /// the server. None before the server's time is known.
    fn expected(&self, key: &str) -> Option<(Expected, Record, i64)> {
        let (at, when) = self.clock?;
        let now = at + when.elapsed().as_millis() as i64 - 1;
        Some(match self.records.get(key) {
            Some(seen) => (seen.expected.clone(), seen.record.clone(), now),
            None => (Expected::Absent, Record::default(), now),
        })
    }
}

fn decoded(key: &str, text: &Option<String>) -> Result<Record, StoreError> {
    match text {
        None => Ok(Record::default()),
        Some(t) => codec::decode(key, t),
    }
}

fn answered(key: &str, reply: Reply, now: i64) -> Answer {
    Answer::Executed {
        executed: Executed { reply, now },
        key: key.to_owned(),
    }
}

/// One attempt at a command: answered outright (it changes nothing, from what
/// the server just said), or an answer to check and write on the server.
// Made and taken apart at once, never stored: no box.
#[allow(clippy::large_enum_variant)]
enum Step {
    Done(Reply),
    Check {
        /// What the key holds once the check passes is `cas.write` (None: as before).
        cas: Cas,
        rec: Record,
        reply: Reply,
    },
}

/// Applies `command` to `rec`, which is what the text `expected` names decodes
/// to, at `now`; `from_server`: the server just said so (then an answer that
/// writes nothing needs no check).
fn step(
    redis_key: &str,
    command: &Command,
    policy: &Policy,
    expected: Expected,
    mut rec: Record,
    now: i64,
    from_server: bool,
) -> Step {
    // Redis keeps no cross-key state: fences rise with the server clock past purges.
    let applied = {
        let mut ctx = Context {
            now,
            policy,
            fence_floor: 0,
            new_run_id: &mut new_run_id,
        };
        apply(&mut rec, command.clone(), &mut ctx)
    };
    if !applied.changed && from_server {
        return Step::Done(applied.reply);
    }
    let new_text = applied.changed.then(|| stamp::stamped(&rec));
    // Idle records are history only: they expire; anything else never does.
    let expire_ms = if rec.is_idle() {
        policy.retention_ms.max(1)
    } else {
        0
    };
    Step::Check {
        cas: Cas {
            key: redis_key.to_owned(),
            expected,
            claimed_now: now,
            write: new_text.map(|t| (t, expire_ms)),
        },
        rec,
        reply: applied.reply,
    }
}

struct Call {
    id: u32,
    key: String,
    redis_key: String,
    command: Command,
    attempts: usize,
    /// Counted in its key's `writing` (see `Keyed`).
    writes: bool,
}

/// A key with calls taken and not answered. A call whose answer writes the key
/// (or whose key must be read first) makes the calls that come after it wait
/// for its answer: computed before it, from a view it is about to change, they
/// would all fail their checks and each come back with the whole record to be
/// computed again (a burst of duplicates did: ~30% slower than one computed
/// after the write). Calls that write nothing go together.
#[derive(Default)]
struct Keyed {
    in_flight: usize,
    writing: usize,
    waiting: VecDeque<Call>,
}

/// An answer computed and waiting for its check.
struct Checking {
    call: Call,
    cas: Cas,
    rec: Record,
    reply: Reply,
    now: i64,
}

/// What a reply not yet received answers.
enum Sent {
    Read(Call),
    Check(Vec<Checking>),
    /// Part of the handshake: its name, for the error if it is refused.
    Setup(&'static str),
    /// The handshake's question whether the server runs in cluster mode.
    ClusterInfo,
}

pub struct Wire {
    policy: Policy,
    view: View,
    /// Keys a script call may check at most (one on a cluster: see `batch`).
    max_batch: usize,
    read_loaded: bool,
    check_loaded: bool,
    to_read: Vec<Call>,
    to_check: Vec<Checking>,
    sent: VecDeque<Sent>,
    /// Bytes read and not yet a whole reply.
    input: Vec<u8>,
    /// Every call taken and not yet answered, wherever it is: a reset answers
    /// each even if a panic left one only in a dropped local.
    taken: HashSet<u32>,
    /// By Redis key, the keys with calls taken and not answered.
    keys: HashMap<String, Keyed>,
    done: Vec<Completion>,
    /// Whether the handshake's replies are still awaited.
    opening: bool,
    /// The handshake was answered and nobody has been told yet.
    opened: bool,
}

/// A reply that breaks the protocol: the connection is of no further use.
pub struct Broken(pub String);

impl Wire {
    pub fn new(policy: Policy) -> Self {
        Wire {
            policy,
            view: View::default(),
            max_batch: 1,
            read_loaded: false,
            check_loaded: false,
            to_read: Vec::new(),
            to_check: Vec::new(),
            sent: VecDeque::new(),
            input: Vec::new(),
            taken: HashSet::new(),
            keys: HashMap::new(),
            done: Vec::new(),
            opening: false,
            opened: false,
        }
    }

    /// A new connection's first commands: AUTH and SELECT as the URL asks, and
    /// whether the server runs in cluster mode. Answers `OPEN_ID` once all are answered.
    pub fn handshake(
        &mut self,
        username: Option<&str>,
        password: Option<&str>,
        db: i64,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(password) = password {
            let mut auth = resp::Command::new(&mut out, if username.is_some() { 3 } else { 2 });
            auth.arg(b"AUTH");
            if let Some(user) = username {
                auth.arg(user.as_bytes());
            }
            auth.arg(password.as_bytes());
            self.sent.push_back(Sent::Setup("AUTH"));
        }
        if db != 0 {
            resp::Command::new(&mut out, 2).arg(b"SELECT").int(db);
            self.sent.push_back(Sent::Setup("SELECT"));
        }
        resp::Command::new(&mut out, 2).arg(b"INFO").arg(b"cluster");
        self.sent.push_back(Sent::ClusterInfo);
        self.opening = true;
        out
    }

    /// Takes a call; its answer comes with a later `take_done`.
    pub fn command(&mut self, id: u32, key: String, command: Command) {
        crate::fault::inject("store", &key);
        self.taken.insert(id);
        let redis_key = guard_key(&key);
        let call = Call {
            id,
            key,
            redis_key,
            command,
            attempts: 0,
            writes: false,
        };
        let keyed = self.keys.entry(call.redis_key.clone()).or_default();
        if keyed.writing > 0 || !keyed.waiting.is_empty() {
            return keyed.waiting.push_back(call);
        }
        keyed.in_flight += 1;
        self.attempt(call, None);
    }

    /// Counts `call` in its key's writing calls, or not.
    fn set_writes(&mut self, call: &mut Call, writes: bool) {
        if call.writes != writes {
            if let Some(keyed) = self.keys.get_mut(&call.redis_key) {
                if writes {
                    keyed.writing += 1;
                } else {
                    keyed.writing -= 1;
                }
            }
            call.writes = writes;
        }
    }

    /// One attempt at `call`, from what the server just said or else from the view.
    fn attempt(&mut self, mut call: Call, known: Option<(Expected, Record, i64)>) {
        if call.attempts == MAX_ATTEMPTS {
            let why = format!(
                "{:?} changed under {MAX_ATTEMPTS} attempts in a row",
                call.key
            );
            return self.finish(call, Err(StoreError::Unavailable(why)));
        }
        call.attempts += 1;
        let from_server = known.is_some();
        let Some((expected, rec, now)) = known.or_else(|| self.view.expected(&call.redis_key))
        else {
            // What it will write is not known until the record is read.
            self.set_writes(&mut call, true);
            return self.to_read.push(call);
        };
        match step(
            &call.redis_key,
            &call.command,
            &self.policy,
            expected,
            rec,
            now,
            from_server,
        ) {
            Step::Done(reply) => {
                let answer = Ok(answered(&call.key, reply, now));
                self.finish(call, answer)
            }
            Step::Check { cas, rec, reply } => {
                self.set_writes(&mut call, cas.write.is_some());
                self.to_check.push(Checking {
                    call,
                    cas,
                    rec,
                    reply,
                    now,
                })
            }
        }
    }

    /// The bytes of commands waiting to be sent, up to about `MAX_OUTPUT`
    /// (empty: none). The rest goes with a later call (replies are due).
    pub fn output(&mut self) -> Vec<u8> {
        // Sized for what is queued, so it is not grown (and copied) call by call.
        let size: usize = self.to_read.len() * 128
            + self
                .to_check
                .iter()
                .map(|c| {
                    let cas = &c.cas;
                    96 + cas.key.len()
                        + match &cas.expected {
                            Expected::Whole(text) => text.len(),
                            _ => stamp::LEN,
                        }
                        + cas.write.as_ref().map_or(0, |w| w.0.len())
                })
                .sum::<usize>();
        let mut out = Vec::with_capacity(size.min(MAX_OUTPUT) + 128);
        let mut queued_reads = std::mem::take(&mut self.to_read).into_iter();
        for call in queued_reads.by_ref() {
            scripts::write_read(&mut out, &call.redis_key, self.read_loaded);
            self.sent.push_back(Sent::Read(call));
            if out.len() >= MAX_OUTPUT {
                break;
            }
        }
        self.to_read = queued_reads.collect();
        // Taken from the front a batch at a time, each moved once (splitting the
        // rest off instead moved all that was left for every batch).
        let mut queued = std::mem::take(&mut self.to_check).into_iter();
        while out.len() < MAX_OUTPUT {
            let batch: Vec<Checking> = queued.by_ref().take(self.max_batch).collect();
            if batch.is_empty() {
                break;
            }
            scripts::write_check_and_set(&mut out, batch.iter().map(|c| &c.cas), self.check_loaded);
            self.sent.push_back(Sent::Check(batch));
        }
        self.to_check = queued.collect();
        if !out.is_empty() && self.taken.len() <= 1 {
            awake::stay_awake(awake::WAIT);
        }
        out
    }

    /// Takes bytes the socket read: every whole reply in them is applied.
    pub fn input(&mut self, bytes: &[u8]) -> Result<(), Broken> {
        // Replies usually arrive whole: they are read where they are, and only
        // a reply cut short is kept, to be read with the bytes that complete it.
        let pending = std::mem::take(&mut self.input);
        let buf: std::borrow::Cow<'_, [u8]> = if pending.is_empty() {
            std::borrow::Cow::Borrowed(bytes)
        } else {
            let mut joined = pending;
            joined.extend_from_slice(bytes);
            std::borrow::Cow::Owned(joined)
        };
        let mut at = 0;
        let result = loop {
            match resp::parse(&buf, at) {
                Ok(Some((value, next))) => {
                    at = next;
                    let Some(sent) = self.sent.pop_front() else {
                        break Err(Broken("Redis sent a reply to nothing asked".into()));
                    };
                    if let Err(e) = self.replied(sent, value) {
                        break Err(e);
                    }
                }
                Ok(None) => break Ok(()),
                Err(resp::Malformed(why)) => {
                    break Err(Broken(format!("Redis sent bytes that are not RESP: {why}")))
                }
            }
        };
        if result.is_ok() {
            self.input = buf[at..].to_vec();
        }
        if at > 0 && self.taken.is_empty() {
            awake::stay_awake(awake::LINGER);
        }
        result
    }

    fn replied(&mut self, sent: Sent, value: resp::Value) -> Result<(), Broken> {
        if let resp::Value::Error(message) = &value {
            if message.starts_with("NOSCRIPT") {
                // The server lost its scripts (flushed, or failed over): send them whole.
                match sent {
                    Sent::Read(call) => {
                        self.read_loaded = false;
                        self.to_read.push(call);
                    }
                    Sent::Check(batch) => {
                        self.check_loaded = false;
                        self.to_check.extend(batch);
                    }
                    Sent::Setup(_) | Sent::ClusterInfo => {}
                }
                return Ok(());
            }
        }
        match sent {
            Sent::Setup(what) => match value {
                resp::Value::Error(message) => {
                    Err(Broken(format!("Redis refused {what}: {message}")))
                }
                _ => Ok(()),
            },
            Sent::ClusterInfo => {
                // Unknown (INFO refused) counts as cluster mode: batches of one work everywhere.
                let single = matches!(&value, resp::Value::Bulk(text)
                    if String::from_utf8_lossy(text).lines().any(|l| l.trim() == "cluster_enabled:0"));
                self.max_batch = if single { MAX_BATCH } else { 1 };
                if self.opening {
                    self.opening = false;
                    self.opened = true;
                }
                Ok(())
            }
            Sent::Read(call) => {
                let read = match value {
                    resp::Value::Error(message) => Err(format!("Redis: {message}")),
                    v => scripts::read_reply(v).map_err(|e| format!("Redis: {e}")),
                };
                match read {
                    Ok((text, now)) => {
                        self.read_loaded = true;
                        self.known(call, text, now);
                    }
                    Err(why) => self.finish(call, Err(StoreError::Unavailable(why))),
                }
                Ok(())
            }
            Sent::Check(batch) => {
                let checked = match value {
                    resp::Value::Error(message) => Err(format!("Redis: {message}")),
                    v => scripts::checked_reply(v, batch.len()).map_err(|e| format!("Redis: {e}")),
                };
                let checked = match checked {
                    Ok(c) => c,
                    Err(why) => {
                        for c in batch {
                            self.finish(c.call, Err(StoreError::Unavailable(why.clone())));
                        }
                        return Ok(());
                    }
                };
                self.check_loaded = true;
                for (c, result) in batch.into_iter().zip(checked) {
                    crate::fault::inject("wire", &c.call.key);
                    match result {
                        Checked::Answer(server_now) => {
                            // Unchanged, the key holds what the view has already.
                            match c.cas.write {
                                Some((t, _)) => self.view.remember(
                                    &c.call.redis_key,
                                    Expected::of(Some(t)),
                                    c.rec,
                                    server_now,
                                ),
                                None => self.view.saw_time(server_now),
                            }
                            let answer = Ok(answered(&c.call.key, c.reply, c.now));
                            self.finish(c.call, answer);
                        }
                        Checked::Changed(current, server_now) => {
                            self.known(c.call, current, server_now)
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// The server said what `call`'s key holds: remembered, and computed from.
    fn known(&mut self, call: Call, text: Option<String>, now: i64) {
        match decoded(&call.key, &text) {
            Ok(rec) => {
                let expected = Expected::of(text);
                self.view
                    .remember(&call.redis_key, expected.clone(), rec.clone(), now);
                self.attempt(call, Some((expected, rec, now)));
            }
            Err(e) => self.finish(call, Err(e)),
        }
    }

    /// Answers `call`; the calls that waited for its key then go, up to the next that writes.
    fn finish(&mut self, mut call: Call, answer: Result<Answer, StoreError>) {
        self.taken.remove(&call.id);
        self.done.push((call.id, answer));
        self.set_writes(&mut call, false);
        let Some(keyed) = self.keys.get_mut(&call.redis_key) else {
            return;
        };
        keyed.in_flight -= 1;
        loop {
            let Some(keyed) = self.keys.get_mut(&call.redis_key) else {
                return;
            };
            if keyed.writing > 0 {
                return;
            }
            match keyed.waiting.pop_front() {
                Some(next) => {
                    keyed.in_flight += 1;
                    self.attempt(next, None);
                }
                None => {
                    if keyed.in_flight == 0 {
                        self.keys.remove(&call.redis_key);
                    }
                    return;
                }
            }
        }
    }

    /// The connection is gone (`why`; `panicked`: the wire itself panicked):
    /// every call taken and not answered fails (nothing is known of whether a
    /// check that was sent was applied). The next connection starts afresh;
    /// the view is kept (it is only a guess, and a panic leaves it a guess).
    pub fn reset(&mut self, why: &str, panicked: bool) {
        let err = || {
            if panicked {
                StoreError::Internal(why.to_owned())
            } else {
                StoreError::Unavailable(format!("Redis: {why}"))
            }
        };
        self.opening = false;
        self.opened = false;
        self.to_read.clear();
        self.to_check.clear();
        self.sent.clear();
        self.keys.clear();
        let mut ids: Vec<u32> = self.taken.drain().collect();
        ids.sort_unstable();
        self.done.extend(ids.into_iter().map(|id| (id, Err(err()))));
        self.input.clear();
        self.read_loaded = false;
        self.check_loaded = false;
    }

    /// Whether the handshake was answered since this was last asked.
    pub fn take_opened(&mut self) -> bool {
        std::mem::take(&mut self.opened)
    }

    /// Answers ready to hand over.
    pub fn take_done(&mut self) -> Vec<Completion> {
        std::mem::take(&mut self.done)
    }

    /// Whether any call taken is not yet answered.
    pub fn busy(&self) -> bool {
        !self.taken.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Acquire;

    #[test]
    fn a_burst_goes_out_in_writes_of_about_max_output_each_in_order() {
        let mut wire = Wire::new(Policy::default());
        // The server's time is not known yet: every call reads its key first.
        let calls = 2 * MAX_OUTPUT / 100;
        for id in 0..calls as u32 {
            let acquire = Command::Acquire(Acquire {
                owner: None,
                ttl_ms: None,
                meta: None,
                fingerprint: None,
            });
            wire.command(id, format!("key-{id}"), acquire);
        }
        let mut writes = Vec::new();
        loop {
            let out = wire.output();
            if out.is_empty() {
                break;
            }
            assert!(
                out.len() < MAX_OUTPUT + 1024,
                "{} bytes in one write",
                out.len()
            );
            writes.push(out);
        }
        assert!(writes.len() >= 2, "{} writes", writes.len());
        let sent: Vec<&str> = wire
            .sent
            .iter()
            .map(|s| match s {
                Sent::Read(call) => call.key.as_str(),
                _ => panic!("only reads were queued"),
            })
            .collect();
        let expected: Vec<String> = (0..calls).map(|id| format!("key-{id}")).collect();
        assert_eq!(sent, expected, "every call sent once, in order");
        // And the bytes hold one script call a call: none lost between writes.
        let joined = writes.concat();
        let scripts = joined
            .windows(10)
            .filter(|w| *w == b"$4\r\nEVAL\r\n")
            .count();
        assert_eq!(scripts, calls);
    }
}
