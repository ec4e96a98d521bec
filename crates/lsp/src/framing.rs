//! A guard in front of tower-lsp's transport. Its reader stops for good at
//! the first message that is not valid JSON (a decode error ends the
//! tokio-util frame stream), so one bad message from a client would end the
//! session, and it ends it too on JSON that is not JSON-RPC (`{}`, a
//! batch, an object id). Here every frame is read and checked first: a bad
//! one gets a JSON-RPC parse error (-32700) or invalid request (-32600) and
//! is dropped; the server only ever sees valid messages. The reader never
//! holds more than one header line (8 KiB) or one body (64 MiB), and finds
//! its way back to the next message after any amount of garbage.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// The longest header line kept; longer lines are read and dropped.
const MAX_HEADER_LINE: u64 = 8 << 10;
/// The largest message body.
const MAX_BODY: usize = 64 << 20;

/// One message's body, read after its headers; `None` at the end of input.
/// Headers are bytes, decoded leniently (a non-UTF-8 byte does not end the
/// session), and a `Content-Length` is found anywhere in a header line, so
/// that the stream resynchronises after a body that lied about its length.
/// A frame without a usable length, or too large, is skipped (its body read
/// and dropped) and reported as `Err`.
async fn read_frame<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> Option<Result<Vec<u8>, String>> {
    let mut length: Option<Option<usize>> = None;
    let mut saw_header = false;
    loop {
        let mut raw = Vec::new();
        let n = (&mut *r)
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut raw)
            .await
            .ok()?;
        if n == 0 {
            return None;
        }
        let line = String::from_utf8_lossy(&raw);
        let line = line.trim_end();
        if line.is_empty() {
            if !saw_header {
                continue;
            }
            break;
        }
        saw_header = true;
        let lower = line.to_ascii_lowercase();
        if let Some(at) = lower.rfind("content-length:") {
            let v = &line[at + "content-length:".len()..];
            length = Some(v.trim().parse().ok());
        }
    }
    match length {
        Some(Some(n)) if n <= MAX_BODY => {
            let mut body = vec![0; n];
            r.read_exact(&mut body).await.ok()?;
            Some(Ok(body))
        }
        Some(Some(n)) => {
            // Read past it, a chunk at a time, without keeping it.
            let skipped = tokio::io::copy(&mut (&mut *r).take(n as u64), &mut tokio::io::sink())
                .await
                .ok()?;
            if skipped < n as u64 {
                return None;
            }
            Some(Err(format!(
                "a message of {n} bytes, over the limit of {MAX_BODY}"
            )))
        }
        _ => Some(Err("a message without a valid Content-Length".into())),
    }
}

/// Why a JSON body is not a JSON-RPC 2.0 message the server can take, and
/// the id to answer with. `params: null` (sent by Emacs Eglot and IntelliJ
/// on `shutdown`) is normalised away rather than refused.
fn check_message(v: &mut serde_json::Value) -> Result<(), (serde_json::Value, &'static str)> {
    use serde_json::Value;
    let Value::Object(m) = v else {
        return Err((
            Value::Null,
            "a message is one JSON object (batches are not part of LSP)",
        ));
    };
    let id = match m.get("id") {
        None => None,
        Some(Value::String(_)) => m.get("id").cloned(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => m.get("id").cloned(),
        Some(Value::Null) => Some(Value::Null),
        Some(_) => return Err((Value::Null, "the id must be a string or an integer")),
    };
    let answer = id.clone().unwrap_or(Value::Null);
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err((answer, "`jsonrpc` must be \"2.0\""));
    }
    if m.get("params").is_some_and(Value::is_null) {
        m.remove("params");
    }
    match m.get("method") {
        Some(Value::String(_)) => {
            if m.get("params")
                .is_some_and(|p| !p.is_object() && !p.is_array())
            {
                return Err((answer, "`params` must be an object or an array"));
            }
            Ok(())
        }
        Some(_) => Err((answer, "`method` must be a string")),
        // A response to a request of the server's.
        None if id.is_some() && (m.contains_key("result") || m.contains_key("error")) => Ok(()),
        None => Err((
            answer,
            "a message needs a `method`, or an `id` with a `result` or `error`",
        )),
    }
}

fn invalid_request(id: serde_json::Value, why: &str) -> Vec<u8> {
    let v = serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32600, "message": "Invalid Request", "data": why}});
    frame(v.to_string().as_bytes())
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn parse_error(why: &str) -> Vec<u8> {
    let v = serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error", "data": why}});
    frame(v.to_string().as_bytes())
}

/// Copies checked frames from `input` to `to_server`; sends parse errors
/// to `errors`.
pub async fn filter_input<R, W>(input: R, mut to_server: W, errors: mpsc::Sender<Vec<u8>>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut r = BufReader::new(input);
    while let Some(f) = read_frame(&mut r).await {
        let body = match f {
            Ok(b) => b,
            Err(why) => {
                let _ = errors.send(parse_error(&why)).await;
                continue;
            }
        };
        let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) else {
            let _ = errors
                .send(parse_error("the message is not valid JSON"))
                .await;
            continue;
        };
        if let Err((id, why)) = check_message(&mut v) {
            // Answered with the error (id null when it is not known).
            let _ = errors.send(invalid_request(id, why)).await;
            continue;
        }
        if to_server
            .write_all(&frame(v.to_string().as_bytes()))
            .await
            .is_err()
        {
            return;
        }
        // After `exit` the server reads nothing more: end its input,
        // so that it stops even if the client keeps the pipe open.
        if v["method"] == "exit" {
            break;
        }
    }
    let _ = to_server.shutdown().await;
}

/// Copies the server's frames and the parse errors to `output`, whole
/// frames at a time.
pub async fn merge_output<R, W>(from_server: R, mut errors: mpsc::Receiver<Vec<u8>>, mut output: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut r = BufReader::new(from_server);
    loop {
        tokio::select! {
            f = read_frame(&mut r) => match f {
                Some(Ok(body)) => {
                    if output.write_all(&frame(&body)).await.is_err() {
                        return;
                    }
                }
                Some(Err(_)) => {}
                None => return,
            },
            Some(e) = errors.recv() => {
                if output.write_all(&e).await.is_err() {
                    return;
                }
            }
        }
        let _ = output.flush().await;
    }
}
