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

/// The engine's answer, checked and written in one round trip: applies only if
/// the key still holds what the answer was computed from (ARGV[1], with ARGV[2]
/// '0' for absent) and the `now` it was computed at (ARGV[3]) is the server's
/// clock, at most ARGV[7] (WINDOW_MS) ms behind and never ahead. Then writes ARGV[4] if
/// ARGV[5] is '1', with a PX expiry of ARGV[6] ms ('0': none). Answers
/// {1, TIME...}, or {0, current record, exists, TIME...} to compute again from.
static CHECK_AND_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local t = redis.call('TIME')
         local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
         local cur = redis.call('GET', KEYS[1])
         local claimed = tonumber(ARGV[3])
         local same
         if ARGV[2] == '0' then same = (cur == false) else same = (cur == ARGV[1]) end
         if (not same) or claimed > now or claimed < now - tonumber(ARGV[7]) then
           return {0, cur or '', cur and 1 or 0, t[1], t[2]}
         end
         if ARGV[5] == '1' then
           if ARGV[6] == '0' then
             redis.call('SET', KEYS[1], ARGV[4])
           else
             redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[6])
           end
         end
         return {1, '', 0, t[1], t[2]}",
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

pub async fn check_and_set(
    conn: &mut ConnectionManager,
    key: &str,
    expected: Option<&str>,
    claimed_now: i64,
    write: Option<(&str, u64)>,
) -> redis::RedisResult<Checked> {
    let (new, expire_ms) = write.unwrap_or(("", 0));
    let (ok, text, exists, secs, micros): (i64, String, i64, i64, i64) = CHECK_AND_SET
        .key(key)
        .arg(expected.unwrap_or(""))
        .arg(if expected.is_some() { "1" } else { "0" })
        .arg(claimed_now)
        .arg(new)
        .arg(if write.is_some() { "1" } else { "0" })
        .arg(expire_ms)
        .arg(WINDOW_MS)
        .invoke_async(conn)
        .await?;
    let now = ms(secs, micros);
    Ok(if ok == 1 {
        Checked::Answer(now)
    } else {
        Checked::Changed((exists == 1).then_some(text), now)
    })
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
