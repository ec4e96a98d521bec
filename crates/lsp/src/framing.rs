//! A guard in front of tower-lsp's transport. Its reader stops for good at
//! the first message that is not valid JSON (a decode error ends the
//! tokio-util frame stream), so one bad message from a client would end the
//! session. Here every frame is read and checked first: a bad one gets a
//! JSON-RPC parse error (-32700) and is dropped; the server only ever sees
//! valid messages.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// One message's body, read after its headers; `None` at the end of input.
/// A frame without a usable Content-Length is skipped up to the next blank
/// line, and reported as `Err`.
async fn read_frame<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> Option<Result<Vec<u8>, String>> {
    let mut length: Option<usize> = None;
    let mut saw_header = false;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            if !saw_header {
                continue;
            }
            break;
        }
        saw_header = true;
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok();
            }
        }
    }
    let Some(n) = length.filter(|n| *n <= 64 << 20) else {
        return Some(Err("a message without a valid Content-Length".into()));
    };
    let mut body = vec![0; n];
    r.read_exact(&mut body).await.ok()?;
    Some(Ok(body))
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
        match f.map(|b| (serde_json::from_slice::<serde_json::Value>(&b), b)) {
            Ok((Ok(v), body)) => {
                if to_server.write_all(&frame(&body)).await.is_err() {
                    return;
                }
                // After `exit` the server reads nothing more: end its input,
                // so that it stops even if the client keeps the pipe open.
                if v["method"] == "exit" {
                    break;
                }
            }
            Ok((Err(_), _)) => {
                let _ = errors
                    .send(parse_error("the message is not valid JSON"))
                    .await;
            }
            Err(why) => {
                let _ = errors.send(parse_error(&why)).await;
            }
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
