//! Redis's wire protocol (RESP) as the link needs it: where a reply ends, what it holds,
//! and packing our script calls.

use redis::{RedisResult, Value};

/// The length of the first complete reply in `buf`, or `None` while it is incomplete.
pub fn frame_end(buf: &[u8]) -> Option<usize> {
    frame(buf, 0)
}

fn frame(buf: &[u8], at: usize) -> Option<usize> {
    let kind = *buf.get(at)?;
    let line = line_end(buf, at)?;
    let header = || {
        std::str::from_utf8(&buf[at + 1..line - 2])
            .ok()?
            .parse::<i64>()
            .ok()
    };
    match kind {
        b'$' | b'!' | b'=' => {
            let len = header()?;
            if len < 0 {
                return Some(line);
            }
            let end = line + len as usize + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let count = header()?;
            let items = if matches!(kind, b'%' | b'|') {
                count * 2
            } else {
                count
            };
            (0..items.max(0)).try_fold(line, |pos, _| frame(buf, pos))
        }
        _ => Some(line),
    }
}

/// The position after the CRLF that ends the line starting at `at`.
fn line_end(buf: &[u8], at: usize) -> Option<usize> {
    let rest = &buf[at..];
    let cr = rest.windows(2).position(|w| w == b"\r\n")?;
    Some(at + cr + 2)
}

/// Decodes one complete reply (error replies become `Value::ServerError`).
pub fn parse(frame: &[u8]) -> RedisResult<Value> {
    redis::parse_redis_value(frame)
}

/// Appends one bulk string.
pub fn push_bulk(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(arg.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}

/// Appends an array header of `count` items.
pub fn push_array(out: &mut Vec<u8>, count: usize) {
    out.push(b'*');
    out.extend_from_slice(count.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `SCRIPT LOAD <code>`, packed.
pub fn pack_load(code: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(code.len() + 32);
    push_array(&mut out, 3);
    push_bulk(&mut out, b"SCRIPT");
    push_bulk(&mut out, b"LOAD");
    push_bulk(&mut out, code.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_where_replies_end() {
        assert_eq!(frame_end(b"+OK\r\n:1\r\n"), Some(5));
        assert_eq!(frame_end(b"$3\r\nabc\r\n"), Some(9));
        assert_eq!(frame_end(b"$3\r\nab"), None);
        assert_eq!(frame_end(b"$-1\r\n"), Some(5));
        assert_eq!(frame_end(b"*2\r\n:1\r\n$1\r\nx\r\n+"), Some(15));
        assert_eq!(frame_end(b"*2\r\n:1\r\n"), None);
        assert_eq!(frame_end(b"*0\r\n"), Some(4));
        assert_eq!(frame_end(b"*-1\r\n"), Some(5));
        assert_eq!(frame_end(b"-ERR x\r\n"), Some(8));
        assert_eq!(frame_end(b"*1\r\n*1\r\n$2\r\nab\r\n"), Some(16));
        assert_eq!(frame_end(b"+OK\r"), None);
        assert_eq!(frame_end(b""), None);
    }

    #[test]
    fn parses_errors_as_values() {
        let v = parse(b"-NOSCRIPT No matching script\r\n").unwrap();
        let err = v.extract_error().unwrap_err();
        assert_eq!(
            err.kind(),
            redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
        );
    }

    #[test]
    fn packs_commands() {
        let mut out = Vec::new();
        push_array(&mut out, 2);
        push_bulk(&mut out, b"GET");
        push_bulk(&mut out, b"k");
        assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }
}
