//! RESP2, as far as the wire needs it: commands written straight into one
//! buffer (one allocation for a whole batch of calls, not one per argument),
//! and replies read as they arrive, in whatever pieces the socket gives.

/// A reply. Bulk strings stay bytes until a caller says what they hold.
#[derive(Debug, PartialEq)]
pub enum Value {
    Nil,
    Int(i64),
    Bulk(Vec<u8>),
    Simple(String),
    Error(String),
    Array(Vec<Value>),
}

/// Writes one command: `*<n>` then each argument as a bulk string.
pub struct Command<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Command<'a> {
    pub fn new(out: &'a mut Vec<u8>, args: usize) -> Self {
        out.push(b'*');
        push_int(out, args as i64);
        Command { out }
    }

    pub fn arg(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.push(b'$');
        push_int(self.out, bytes.len() as i64);
        self.out.extend_from_slice(bytes);
        self.out.extend_from_slice(b"\r\n");
        self
    }

    pub fn int(&mut self, n: i64) -> &mut Self {
        let mut digits = [0; 20];
        self.arg(decimal(n, &mut digits))
    }
}

fn push_int(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0; 20];
    out.extend_from_slice(decimal(n, &mut digits));
    out.extend_from_slice(b"\r\n");
}

/// `n` in decimal, written into `buf` (no allocation: a call writes several).
fn decimal(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// Why the bytes could not be read as RESP: the connection is of no further use.
#[derive(Debug)]
pub struct Malformed(pub String);

/// Reads the first whole reply in `buf` from `at`: Ok(None) if it has not all
/// arrived, else the reply and where the next one starts.
pub fn parse(buf: &[u8], at: usize) -> Result<Option<(Value, usize)>, Malformed> {
    let Some((kind, line, next)) = line(buf, at)? else {
        return Ok(None);
    };
    let text = || String::from_utf8_lossy(line).into_owned();
    let int = || -> Result<i64, Malformed> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Malformed(format!("not a number: {:?}", text())))
    };
    Ok(match kind {
        b'+' => Some((Value::Simple(text()), next)),
        b'-' => Some((Value::Error(text()), next)),
        b':' => Some((Value::Int(int()?), next)),
        b'$' => {
            let len = int()?;
            if len < 0 {
                return Ok(Some((Value::Nil, next)));
            }
            let end = next + len as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(Malformed("a bulk string not ended by CRLF".into()));
            }
            Some((Value::Bulk(buf[next..end].to_vec()), end + 2))
        }
        b'*' => {
            let len = int()?;
            if len < 0 {
                return Ok(Some((Value::Nil, next)));
            }
            let mut items = Vec::with_capacity(len.min(1024) as usize);
            let mut at = next;
            for _ in 0..len {
                match parse(buf, at)? {
                    Some((v, after)) => {
                        items.push(v);
                        at = after;
                    }
                    None => return Ok(None),
                }
            }
            Some((Value::Array(items), at))
        }
        other => return Err(Malformed(format!("unknown reply type {:?}", other as char))),
    })
}

/// A reply's first line: its type byte, the rest of the line and where the line after it starts.
type Line<'a> = (u8, &'a [u8], usize);

fn line(buf: &[u8], at: usize) -> Result<Option<Line<'_>>, Malformed> {
    if at >= buf.len() {
        return Ok(None);
    }
    let Some(cr) = buf[at..].windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    Ok(Some((buf[at], &buf[at + 1..at + cr], at + cr + 2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_an_array_of_bulk_strings() {
        let mut out = Vec::new();
        Command::new(&mut out, 3).arg(b"SET").arg(b"k").int(-12);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n-12\r\n");
        for n in [0, 7, 10, -1, 1_795_705_810_340_000, i64::MAX, i64::MIN] {
            let mut digits = [0; 20];
            assert_eq!(decimal(n, &mut digits), n.to_string().as_bytes());
        }
    }

    #[test]
    fn replies_are_read_whole_whatever_pieces_arrive() {
        let bytes = b"*4\r\n$2\r\nab\r\n:1\r\n*2\r\n$-1\r\n:0\r\n+OK\r\n-ERR no\r\n";
        let (v, next) = parse(bytes, 0).unwrap().unwrap();
        for cut in 0..next {
            assert!(parse(&bytes[..cut], 0).unwrap().is_none(), "cut at {cut}");
        }
        for cut in next..bytes.len() {
            assert!(
                parse(&bytes[..cut], next).unwrap().is_none(),
                "cut at {cut}"
            );
        }
        assert_eq!(
            v,
            Value::Array(vec![
                Value::Bulk(b"ab".to_vec()),
                Value::Int(1),
                Value::Array(vec![Value::Nil, Value::Int(0)]),
                Value::Simple("OK".into()),
            ])
        );
        let (e, end) = parse(bytes, next).unwrap().unwrap();
        assert_eq!(e, Value::Error("ERR no".into()));
        assert_eq!(end, bytes.len());
    }

    #[test]
    fn bytes_that_are_not_resp_are_refused() {
        assert!(parse(b"?what\r\n", 0).is_err());
        assert!(parse(b":12x\r\n", 0).is_err());
        assert!(parse(b"$2\r\nabcd\r\n", 0).is_err());
    }
}
