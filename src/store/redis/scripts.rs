//! The two server-side scripts. Neither decides anything: one reads, the other
//! writes only if nothing changed since the read.

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

/// Writes ARGV[2] if the key still holds ARGV[1] ('' and ARGV[4] = '0': absent),
/// with a PX expiry of ARGV[3] ms, or none if '0'.
static COMPARE_AND_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local cur = redis.call('GET', KEYS[1])
         if ARGV[4] == '0' then
           if cur then return 0 end
         elseif cur ~= ARGV[1] then
           return 0
         end
         if ARGV[3] == '0' then
           redis.call('SET', KEYS[1], ARGV[2])
         else
           redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
         end
         return 1",
    )
});

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

pub async fn compare_and_set(
    conn: &mut ConnectionManager,
    key: &str,
    expected: Option<&str>,
    new: &str,
    expire_ms: u64,
) -> redis::RedisResult<bool> {
    let written: i64 = COMPARE_AND_SET
        .key(key)
        .arg(expected.unwrap_or(""))
        .arg(new)
        .arg(expire_ms)
        .arg(if expected.is_some() { "1" } else { "0" })
        .invoke_async(conn)
        .await?;
    Ok(written == 1)
}

pub async fn server_time(conn: &mut ConnectionManager) -> redis::RedisResult<i64> {
    let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(conn).await?;
    Ok(ms(secs, micros))
}
