//! The server-side scripts. None decides anything: one reads the record with
//! the server's clock, the other checks that an answer was computed from what
//! the key still holds, at the server's time, and only then writes it.

use redis::aio::ConnectionManager;
use redis::Script;
use std::sync::LazyLock;

/// The record and the server's clock, read together.
static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local t = redis.call('TIME')
         return {redis.call('GET', KEYS[1]) or '', t[1], t[2], redis.call('EXISTS', KEYS[1])}",
    )
});

/// Engine answers for several keys, each checked and written as one was alone:
/// for entry i (KEYS[i], ARGV[2+6(i-1)..]): applies only if the key still holds
/// what the answer was computed from (the text, with the flag after it '0' for
/// absent) and the `now` it was computed at is the server's clock, at most
/// ARGV[1] (WINDOW_MS) ms behind and never ahead. Then writes the new text if
/// its flag is '1', with a PX expiry in ms ('0': none). Answers TIME's two
/// fields, then per entry 1 (applied) or {current record, exists} to compute
/// again from. One call for many keys because a script call costs the server several
/// times the reads and writes inside it (see the README's performance section).
static CHECK_AND_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local t = redis.call('TIME')
         local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
         local oldest = now - tonumber(ARGV[1])
         local out = {t[1], t[2]}
         for i = 1, #KEYS do
           local a = 2 + (i - 1) * 6
           local cur = redis.call('GET', KEYS[i])
           local claimed = tonumber(ARGV[a + 2])
           local same
           if ARGV[a + 1] == '0' then same = (cur == false) else same = (cur == ARGV[a]) end
           if (not same) or claimed > now or claimed < oldest then
             out[#out + 1] = {cur or '', cur and 1 or 0}
           else
             if ARGV[a + 4] == '1' then
               if ARGV[a + 5] == '0' then
                 redis.call('SET', KEYS[i], ARGV[a + 3])
               else
                 redis.call('SET', KEYS[i], ARGV[a + 3], 'PX', ARGV[a + 5])
               end
             end
             out[#out + 1] = 1
           end
         end
         return out",
    )
});

/// How far behind the server's clock a claimed `now` may be (see CHECK_AND_SET).
pub const WINDOW_MS: i64 = 250;

pub enum Checked {
    /// Applied (and written, if there was a write); the server's time.
    Answer(i64),
    /// Not applied: the record and time to compute again from.
    Changed(Option<String>, i64),
}

/// One key's answer to check and write: computed from `expected` (None: the
/// key was absent) at `claimed_now`; `write` is the new text and its expiry in
/// ms (0: none), None for an answer that changes nothing.
pub struct Cas {
    pub key: String,
    pub expected: Option<String>,
    pub claimed_now: i64,
    pub write: Option<(String, u64)>,
}

/// Checks and writes `entries` in one script call; one `Checked` per entry, in order.
pub async fn check_and_set(
    conn: &mut ConnectionManager,
    entries: &[Cas],
) -> redis::RedisResult<Vec<Checked>> {
    // The command is built directly, not through `ScriptInvocation`, which keeps
    // each argument in an allocation of its own and then copies them all into a
    // command: ~14 allocations a key on the store's thread.
    let mut call = redis::cmd("EVALSHA");
    call.arg(CHECK_AND_SET.get_hash()).arg(entries.len());
    for e in entries {
        call.arg(&e.key);
    }
    call.arg(WINDOW_MS);
    for e in entries {
        let (new, expire_ms) = e
            .write
            .as_ref()
            .map_or(("", 0), |(t, ms)| (t.as_str(), *ms));
        call.arg(e.expected.as_deref().unwrap_or(""))
            .arg(if e.expected.is_some() { "1" } else { "0" })
            .arg(e.claimed_now)
            .arg(new)
            .arg(if e.write.is_some() { "1" } else { "0" })
            .arg(expire_ms);
    }
    let reply: Vec<redis::Value> = match call.query_async(conn).await {
        // The server does not have the script (restarted, or flushed): load it, once more.
        Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
            CHECK_AND_SET.load_async(conn).await?;
            call.query_async(conn).await?
        }
        other => other?,
    };
    let malformed = || {
        redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "unexpected reply to the check-and-set script",
        ))
    };
    if reply.len() != entries.len() + 2 {
        return Err(malformed());
    }
    let mut reply = reply.into_iter();
    let secs: i64 = redis::from_redis_value(reply.next().ok_or_else(malformed)?)?;
    let micros: i64 = redis::from_redis_value(reply.next().ok_or_else(malformed)?)?;
    let now = ms(secs, micros);
    reply
        .map(|entry| {
            if entry == redis::Value::Int(1) {
                return Ok(Checked::Answer(now));
            }
            let fields: Vec<redis::Value> = redis::from_redis_value(entry)?;
            let mut fields = fields.into_iter();
            let text: String = redis::from_redis_value(fields.next().ok_or_else(malformed)?)?;
            let exists: i64 = redis::from_redis_value(fields.next().ok_or_else(malformed)?)?;
            Ok(Checked::Changed((exists == 1).then_some(text), now))
        })
        .collect()
}

fn ms(secs: i64, micros: i64) -> i64 {
    secs * 1000 + micros / 1000
}

pub async fn read(
    conn: &mut ConnectionManager,
    key: &str,
) -> redis::RedisResult<(Option<String>, i64)> {
    let (text, secs, micros, exists): (String, i64, i64, i64) =
        READ.key(key).invoke_async(conn).await?;
    Ok(((exists == 1).then_some(text), ms(secs, micros)))
}

pub async fn server_time(conn: &mut ConnectionManager) -> redis::RedisResult<i64> {
    let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(conn).await?;
    Ok(ms(secs, micros))
}
