//! The server-side scripts. None decides anything: one reads the record with
//! the server's clock, the other checks that an answer was computed from what
//! the key still holds, at the server's time, and only then writes it.

use redis::aio::ConnectionManager;
use redis::Script;

use super::resp;
use super::stamp::Expected;
use std::sync::LazyLock;

/// The record and the server's clock, read together.
const READ_LUA: &str = "local t = redis.call('TIME')
         return {redis.call('GET', KEYS[1]) or '', t[1], t[2], redis.call('EXISTS', KEYS[1])}";
static READ: LazyLock<Script> = LazyLock::new(|| Script::new(READ_LUA));

/// Engine answers for several keys, each checked and written as one was alone:
/// for entry i (KEYS[i], ARGV[2+6(i-1)..]): applies only if the key still holds
/// what the answer was computed from and the `now` it was computed at is the
/// server's clock, at most ARGV[1] (WINDOW_MS) ms behind and never ahead. What
/// it was computed from is the text's stamp (flag '2': its first bytes, see
/// `stamp`), the whole text (flag '1': a value without a stamp) or nothing
/// (flag '0': absent). Then writes the new text if its flag is '1', with a PX
/// expiry in ms ('0': none). Answers TIME's two fields, then per entry 1
/// (applied) or {current record, exists} to compute again from. One call for
/// many keys because a script call costs the server several times the reads
/// and writes inside it (see the README's performance section).
const CHECK_AND_SET_LUA: &str = "local t = redis.call('TIME')
         local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
         local oldest = now - tonumber(ARGV[1])
         local out = {t[1], t[2]}
         for i = 1, #KEYS do
           local a = 2 + (i - 1) * 6
           local how = ARGV[a + 1]
           local cur
           local same
           if how == '2' then
             same = (redis.call('GETRANGE', KEYS[i], '0', '22') == ARGV[a])
           else
             cur = redis.call('GET', KEYS[i])
             if how == '0' then same = (cur == false) else same = (cur == ARGV[a]) end
           end
           local claimed = tonumber(ARGV[a + 2])
           if (not same) or claimed > now or claimed < oldest then
             if how == '2' then cur = redis.call('GET', KEYS[i]) end
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
         return out";
static CHECK_AND_SET: LazyLock<Script> = LazyLock::new(|| Script::new(CHECK_AND_SET_LUA));

/// How far behind the server's clock a claimed `now` may be (see CHECK_AND_SET).
pub const WINDOW_MS: i64 = 250;

pub enum Checked {
    /// Applied (and written, if there was a write); the server's time.
    Answer(i64),
    /// Not applied: the record and time to compute again from.
    Changed(Option<String>, i64),
}

/// One key's answer to check and write: computed from what `expected` names
/// at `claimed_now`; `write` is the new text and its expiry in ms (0: none),
/// None for an answer that changes nothing.
pub struct Cas {
    pub key: String,
    pub expected: Expected,
    pub claimed_now: i64,
    pub write: Option<(String, u64)>,
}

fn ms(secs: i64, micros: i64) -> i64 {
    secs * 1000 + micros / 1000
}

pub async fn server_time(conn: &mut ConnectionManager) -> redis::RedisResult<i64> {
    let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(conn).await?;
    Ok(ms(secs, micros))
}

/// The wire's forms of the scripts (see `wire`): EVALSHA once the server is
/// known to hold the script, EVAL (which also loads it) until then.
fn script_call<'a>(
    out: &'a mut Vec<u8>,
    args: usize,
    script: &Script,
    lua: &str,
    loaded: bool,
) -> resp::Command<'a> {
    let mut call = resp::Command::new(out, args);
    if loaded {
        call.arg(b"EVALSHA").arg(script.get_hash().as_bytes());
    } else {
        call.arg(b"EVAL").arg(lua.as_bytes());
    }
    call
}

pub fn write_read(out: &mut Vec<u8>, key: &str, loaded: bool) {
    script_call(out, 4, &READ, READ_LUA, loaded)
        .int(1)
        .arg(key.as_bytes());
}

pub fn write_check_and_set<'a>(
    out: &mut Vec<u8>,
    entries: impl ExactSizeIterator<Item = &'a Cas> + Clone,
    loaded: bool,
) {
    let n = entries.len();
    let mut call = script_call(out, 4 + 7 * n, &CHECK_AND_SET, CHECK_AND_SET_LUA, loaded);
    call.int(n as i64);
    for e in entries.clone() {
        call.arg(e.key.as_bytes());
    }
    call.int(WINDOW_MS);
    for e in entries {
        let (new, expire_ms) = e
            .write
            .as_ref()
            .map_or(("", 0), |(t, ms)| (t.as_str(), *ms));
        let (expected, how): (&[u8], &[u8]) = match &e.expected {
            Expected::Absent => (b"", b"0"),
            Expected::Whole(text) => (text.as_bytes(), b"1"),
            Expected::Stamp(stamp) => (stamp, b"2"),
        };
        call.arg(expected)
            .arg(how)
            .int(e.claimed_now)
            .arg(new.as_bytes())
            .arg(if e.write.is_some() { b"1" } else { b"0" })
            .int(expire_ms as i64);
    }
}

fn text(v: resp::Value) -> Result<String, String> {
    match v {
        resp::Value::Bulk(b) => {
            String::from_utf8(b).map_err(|_| "a record that is not UTF-8".into())
        }
        other => Err(format!("expected a string, got {other:?}")),
    }
}

fn number(v: resp::Value) -> Result<i64, String> {
    match v {
        resp::Value::Int(n) => Ok(n),
        resp::Value::Bulk(b) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| "expected a number".into()),
        other => Err(format!("expected a number, got {other:?}")),
    }
}

/// READ's reply: the record's text (None: absent) and the server's time.
pub fn read_reply(v: resp::Value) -> Result<(Option<String>, i64), String> {
    let resp::Value::Array(fields) = v else {
        return Err("unexpected reply to the read script".into());
    };
    let [t, secs, micros, exists]: [resp::Value; 4] = fields
        .try_into()
        .map_err(|_| "unexpected reply to the read script".to_owned())?;
    let t = text(t)?;
    let now = ms(number(secs)?, number(micros)?);
    Ok(((number(exists)? == 1).then_some(t), now))
}

/// CHECK_AND_SET's reply for `n` entries: one `Checked` each, in order.
pub fn checked_reply(v: resp::Value, n: usize) -> Result<Vec<Checked>, String> {
    let malformed = || "unexpected reply to the check-and-set script".to_owned();
    let resp::Value::Array(fields) = v else {
        return Err(malformed());
    };
    if fields.len() != n + 2 {
        return Err(malformed());
    }
    let mut fields = fields.into_iter();
    let secs = number(fields.next().ok_or_else(malformed)?)?;
    let micros = number(fields.next().ok_or_else(malformed)?)?;
    let now = ms(secs, micros);
    fields
        .map(|entry| match entry {
            resp::Value::Int(1) => Ok(Checked::Answer(now)),
            resp::Value::Array(pair) => {
                let [t, exists]: [resp::Value; 2] = pair.try_into().map_err(|_| malformed())?;
                let t = text(t)?;
                Ok(Checked::Changed((number(exists)? == 1).then_some(t), now))
            }
            _ => Err(malformed()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::stamp;
    use super::*;

    #[test]
    fn the_check_reads_as_many_bytes_as_a_stamp_has() {
        let range = format!("GETRANGE', KEYS[i], '0', '{}')", stamp::LEN - 1);
        assert!(CHECK_AND_SET_LUA.contains(&range), "{range}");
    }
}
