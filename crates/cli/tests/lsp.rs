//! The language server end to end: the real `scalepol lsp` binary driven
//! over JSON-RPC (stdio, Content-Length framing) by a small client, with
//! snapshots of the responses.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

struct Client {
    child: Child,
    stdin: ChildStdin,
    out: BufReader<ChildStdout>,
    id: u64,
    notifications: Vec<Value>,
    encoding: String,
}

impl Client {
    fn start(root: &Path) -> Client {
        Client::start_with(root, json!({}))
    }

    fn start_with(root: &Path, capabilities: Value) -> Client {
        Client::start_args(root, capabilities, &["lsp"])
    }

    /// The server started with `args`, as a client's launch configuration
    /// has it.
    fn start_args(root: &Path, capabilities: Value, args: &[&str]) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scalepol"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut c = Client {
            child,
            stdin,
            out,
            id: 0,
            notifications: Vec::new(),
            encoding: String::new(),
        };
        let root_uri = url(root);
        let r = c.request(
            "initialize",
            json!({"processId": null, "rootUri": root_uri, "capabilities": capabilities, "workspaceFolders": [{"uri": root_uri, "name": "ws"}]}),
        );
        assert!(r["result"]["capabilities"]["hoverProvider"]
            .as_bool()
            .unwrap());
        c.encoding = r["result"]["capabilities"]["positionEncoding"]
            .as_str()
            .unwrap_or("utf-16")
            .to_string();
        c.notify("initialized", json!({}));
        c
    }

    fn send_raw(&mut self, body: &str) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn recv(&mut self) -> Value {
        let mut len = 0;
        loop {
            let mut line = String::new();
            assert!(
                self.out.read_line(&mut line).unwrap() > 0,
                "the server closed its output"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = v.parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        self.out.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let id = self.id;
        let msg = if params.is_null() {
            json!({"jsonrpc": "2.0", "id": id, "method": method})
        } else {
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
        };
        self.send_raw(&msg.to_string());
        loop {
            let m = self.recv();
            if m["id"] == id && m.get("method").is_none() {
                return m;
            }
            self.notifications.push(m);
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        let msg = if params.is_null() {
            json!({"jsonrpc": "2.0", "method": method})
        } else {
            json!({"jsonrpc": "2.0", "method": method, "params": params})
        };
        self.send_raw(&msg.to_string());
    }

    /// The next diagnostics published for `uri` at `version`.
    fn diagnostics(&mut self, uri: &str, version: i64) -> Value {
        loop {
            if let Some(i) = self.notifications.iter().position(|n| {
                n["method"] == "textDocument/publishDiagnostics"
                    && n["params"]["uri"] == uri
                    && n["params"]["version"] == version
            }) {
                return self.notifications.remove(i)["params"]["diagnostics"].clone();
            }
            let m = self.recv();
            self.notifications.push(m);
        }
    }

    fn open(&mut self, uri: &str, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "scalepol", "version": 1, "text": text}}),
        );
        self.diagnostics(uri, 1)
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        let mut params = json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}});
        if method == "textDocument/references" {
            params["context"] = json!({"includeDeclaration": true});
        }
        self.request(method, params)
    }

    fn stop(mut self) {
        let r = self.request("shutdown", Value::Null);
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", Value::Null);
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                assert!(s.success(), "{s}");
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the server did not exit"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// The line and UTF-16 column of the first `needle` in `text` (plus `shift`).
fn pos(text: &str, needle: &str, shift: usize) -> (u32, u32) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the text"))
        + shift;
    let line = text[..at].matches('\n').count();
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line as u32, text[start..at].encode_utf16().count() as u32)
}

/// Makes responses stable for snapshots: the temporary root becomes ROOT.
fn clean(v: &Value, root: &Path) -> Value {
    let s = v
        .to_string()
        .replace(&url(root), "file://ROOT")
        .replace(&root.display().to_string(), "ROOT");
    serde_json::from_str(&s).unwrap()
}

const DEFAULTS: &str = "defaults platform {\n  metrics prometheus \"http://prometheus:9090\" {\n    queue_depth = `sum(vllm:num_requests_waiting)`\n  }\n}\n";

const POLICY: &str = r#"policy chat extends "platform.scalepol" {
  workload deployment "llm/chat"

  // The serving pool.
  pool l4: gpu {
    accelerator "nvidia-l4"
    replicas 2..12
    warmup 2m
    capacity 16 concurrent
    cost $0.85/h
  }

  metrics prometheus "http://prometheus:9090" {
    kv_cache = `avg(vllm:gpu_cache_usage_perc) * 100` as percent
  }

  scale l4 {
    on queue_depth per replica target 4
    on kv_cache target 80%
    down { by 1 replica every 2m, stabilize 5m }
  }

  rule "burst floor" when `queue_depth > 50.0` { replicas >= 4 }
}
"#;

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("platform.scalepol"), DEFAULTS).unwrap();
    std::fs::write(dir.path().join("chat.scalepol"), POLICY).unwrap();
    std::fs::write(
        dir.path().join("other.scalepol"),
        POLICY
            .replace("policy chat", "policy other")
            .replace("llm/chat", "llm/other"),
    )
    .unwrap();
    dir
}

#[test]
fn every_feature_end_to_end() {
    let dir = workspace();
    let root = dir.path();
    let uri = url(&root.join("chat.scalepol"));
    let mut c = Client::start(root);
    let diags = c.open(&uri, POLICY);
    insta::assert_json_snapshot!("diagnostics", clean(&diags, root));

    let mut responses = serde_json::Map::new();
    let mut ask = |c: &mut Client, name: &str, method: &str, needle: &str, shift: usize| {
        let (l, ch) = pos(POLICY, needle, shift);
        let r = c.at(method, &uri, l, ch);
        responses.insert(name.to_string(), clean(&r["result"], root));
    };
    ask(
        &mut c,
        "hover keyword",
        "textDocument/hover",
        "replicas 2..12",
        1,
    );
    ask(&mut c, "hover duration", "textDocument/hover", "2m\n", 1);
    ask(&mut c, "hover price", "textDocument/hover", "$0.85/h", 2);
    ask(
        &mut c,
        "hover metric",
        "textDocument/hover",
        "on kv_cache",
        4,
    );
    ask(
        &mut c,
        "hover inherited metric in CEL",
        "textDocument/hover",
        "queue_depth > 50",
        2,
    );
    ask(&mut c, "hover pool", "textDocument/hover", "scale l4", 7);
    ask(
        &mut c,
        "hover scale defaults",
        "textDocument/hover",
        "scale l4",
        1,
    );
    ask(
        &mut c,
        "hover accelerator",
        "textDocument/hover",
        "nvidia-l4",
        3,
    );
    ask(
        &mut c,
        "definition of an inherited metric",
        "textDocument/definition",
        "on queue_depth",
        5,
    );
    ask(
        &mut c,
        "definition of a pool",
        "textDocument/definition",
        "scale l4",
        7,
    );
    ask(
        &mut c,
        "definition of the defaults file",
        "textDocument/definition",
        "platform.scalepol",
        3,
    );
    ask(
        &mut c,
        "references of a metric",
        "textDocument/references",
        "kv_cache target",
        2,
    );
    ask(
        &mut c,
        "completion in a pool",
        "textDocument/completion",
        "    capacity",
        4,
    );
    ask(
        &mut c,
        "completion after on",
        "textDocument/completion",
        "on kv_cache",
        3,
    );
    ask(
        &mut c,
        "completion in CEL",
        "textDocument/completion",
        "queue_depth > 50",
        0,
    );
    ask(
        &mut c,
        "completion of a unit",
        "textDocument/completion",
        "2..12",
        1,
    );
    ask(
        &mut c,
        "completion of an accelerator",
        "textDocument/completion",
        "nvidia-l4",
        0,
    );
    insta::assert_json_snapshot!("responses", responses);

    let (l, ch) = pos(POLICY, "kv_cache =", 0);
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": {"line": l, "character": ch}, "newName": "kv_usage"}),
    );
    insta::assert_json_snapshot!("rename local", clean(&r["result"], root));
    let (l, ch) = pos(POLICY, "on queue_depth", 4);
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": {"line": l, "character": ch}, "newName": "waiting"}),
    );
    let changes = r["result"]["changes"].as_object().unwrap();
    let mut files: Vec<&String> = changes.keys().collect();
    files.sort();
    // The defaults file, this policy and the other policy that extends it.
    assert_eq!(files.len(), 3, "{files:?}");
    let bad = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": {"line": l, "character": ch}, "newName": "Not A Name"}),
    );
    assert!(bad["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a valid name"));

    let doc = json!({"textDocument": {"uri": uri}});
    let symbols = c.request("textDocument/documentSymbol", doc.clone());
    insta::assert_json_snapshot!("symbols", clean(&symbols["result"], root));
    let folds = c.request("textDocument/foldingRange", doc.clone());
    insta::assert_json_snapshot!("folding", folds["result"]);
    let tokens = c.request("textDocument/semanticTokens/full", doc.clone());
    let data = tokens["result"]["data"].as_array().unwrap();
    assert!(data.len() > 40 && data.chunks_exact(5).remainder().is_empty());
    let ws = c.request("workspace/symbol", json!({"query": "l4"}));
    insta::assert_json_snapshot!("workspace symbols", clean(&ws["result"], root));

    // A warning (spot could save money, on the pool's name): an allow.
    let (l, ch) = pos(POLICY, "pool l4", 5);
    let more = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": l, "character": ch}, "end": {"line": l, "character": ch}}, "context": {"diagnostics": []}}),
    );
    // A misspelt keyword: its diagnostic on hover, its fix and an allow
    // as code actions.
    let misspelt = POLICY.replace("warmup 2m", "wramup 2m");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": misspelt}]}),
    );
    let diags = c.diagnostics(&uri, 2);
    insta::assert_json_snapshot!("diagnostics of a misspelt keyword", clean(&diags, root));
    let (l, ch) = pos(&misspelt, "wramup", 2);
    let h = c.at("textDocument/hover", &uri, l, ch);
    insta::assert_json_snapshot!("hover on a diagnostic", h["result"]);
    // With an error, the model is partial but still answers: the pool's cost.
    let (l, ch) = pos(&misspelt, "scale l4", 7);
    let h = c.at("textDocument/hover", &uri, l, ch);
    assert!(
        h["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("worst case"),
        "{h}"
    );
    let (l, ch) = pos(&misspelt, "wramup", 0);
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": l, "character": ch}, "end": {"line": l, "character": ch + 6}}, "context": {"diagnostics": []}}),
    );
    let fix = &actions["result"][0]["edit"]["changes"][&uri][0];
    assert_eq!(fix["newText"], "warmup");
    let mut titles: Vec<Value> = actions["result"].as_array().unwrap().clone();
    titles.extend(more["result"].as_array().unwrap().iter().cloned());
    let titles: Vec<(&str, &Value)> = titles
        .iter()
        .map(|a| (a["title"].as_str().unwrap(), &a["edit"]["changes"][&uri][0]))
        .collect();
    insta::assert_json_snapshot!("code actions", titles);

    // Formatting: the same formatter as `scalepol fmt`.
    let messy = POLICY
        .replace("  workload", "      workload")
        .replace("replicas 2..12", "replicas   2..12");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": messy}]}),
    );
    c.diagnostics(&uri, 3);
    let f = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(f["result"][0]["newText"].as_str().unwrap(), POLICY);
    c.stop();
}

#[test]
fn a_broken_file_still_answers() {
    let dir = workspace();
    let root = dir.path();
    let uri = url(&root.join("chat.scalepol"));
    let mut c = Client::start(root);
    c.open(&uri, POLICY);
    // Break it: an unterminated back-quote in the rule.
    let (l, ch) = pos(POLICY, "`queue_depth > 50.0`", 19);
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": l, "character": ch}, "end": {"line": l, "character": ch + 1}}, "text": ""}]}),
    );
    let diags = c.diagnostics(&uri, 2);
    assert!(
        diags[0]["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("SP01")),
        "{diags}"
    );
    let (l, ch) = pos(POLICY, "on kv_cache", 4);
    let h = c.at("textDocument/hover", &uri, l, ch);
    assert!(
        h["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("metric `kv_cache`"),
        "{h}"
    );
    let (l, ch) = pos(POLICY, "    capacity", 4);
    let comp = c.at("textDocument/completion", &uri, l, ch);
    assert!(
        comp["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["label"] == "warmup"),
        "{comp}"
    );
    c.stop();
}

#[test]
fn utf16_positions_and_incremental_edits() {
    let dir = workspace();
    let root = dir.path();
    let uri = url(&root.join("chat.scalepol"));
    let mut c = Client::start(root);
    let text = POLICY.replace("// The serving pool.", "// The serving pool: 🚀 für LLMs.");
    c.open(&uri, &text);
    // Rename the pool in its declaration, after the emoji's line, by an
    // incremental edit; then check the server's copy through diagnostics.
    let (l, ch) = pos(&text, "pool l4:", 5);
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": l, "character": ch}, "end": {"line": l, "character": ch + 2}}, "text": "a10"}]}),
    );
    let diags = c.diagnostics(&uri, 2);
    let msgs: Vec<&str> = diags
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(msgs.iter().any(|m| m.contains("`l4`")), "{msgs:?}");
    // On the emoji line, columns count UTF-16 units: hover after the emoji.
    let (l, _) = pos(&text, "🚀", 0);
    let h = c.at("textDocument/hover", &uri, l, 200);
    assert!(h["result"].is_null(), "{h}");
    c.stop();
}

#[test]
fn utf8_positions_when_the_client_offers_them() {
    let dir = workspace();
    let uri = url(&dir.path().join("chat.scalepol"));
    let mut c = Client::start_with(
        dir.path(),
        json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}}),
    );
    assert_eq!(c.encoding, "utf-8");
    let text = POLICY.replace("rule \"burst floor\"", "rule \"burst 🚀 floor\"");
    c.open(&uri, &text);
    // Columns count bytes: the rocket is 4 of them.
    let at = text.find("queue_depth > 50").unwrap() + 2;
    let line = text[..at].matches('\n').count() as u32;
    let col = (at - text[..at].rfind('\n').unwrap() - 1) as u32;
    let h = c.at("textDocument/hover", &uri, line, col);
    assert!(
        h["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("queue_depth"),
        "{h}"
    );
    assert_eq!(
        h["result"]["range"]["start"]["character"].as_u64().unwrap() as u32,
        col - 2
    );
    c.stop();
    // Without the offer, UTF-16 as the protocol's default.
    let c = Client::start(dir.path());
    assert_eq!(c.encoding, "utf-16");
    c.stop();
}

#[test]
fn bad_requests_get_errors_not_a_crash() {
    let dir = workspace();
    let mut c = Client::start(dir.path());
    let r = c.at("textDocument/hover", "file:///nowhere.scalepol", 0, 0);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown document"),
        "{r}"
    );
    c.send_raw("{this is not json");
    let r = c.recv();
    assert_eq!(r["error"]["code"], -32700, "{r}");
    let r = c.request("no/such/method", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    // Positions far outside the document are clamped.
    let uri = url(&dir.path().join("chat.scalepol"));
    c.open(&uri, POLICY);
    let r = c.at("textDocument/completion", &uri, 10_000, 10_000);
    assert!(r.get("error").is_none(), "{r}");
    c.stop();
}

#[test]
fn garbage_never_ends_the_session() {
    let dir = workspace();
    let mut c = Client::start(dir.path());
    // JSON that is not JSON-RPC: each gets an Invalid Request, none ends it.
    for body in [
        "{}",
        "[]",
        r#"[{"jsonrpc":"2.0","id":1,"method":"shutdown"}]"#,
        r#"{"id":7,"method":"shutdown"}"#,
        r#"{"jsonrpc":"2.0","id":{"a":1},"method":"shutdown"}"#,
        r#"{"jsonrpc":"2.0","id":1.5,"method":"shutdown"}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":7}"#,
        "42",
    ] {
        c.send_raw(body);
        let r = c.recv();
        assert_eq!(r["error"]["code"], -32600, "{body}: {r}");
    }
    // Raw bytes: a non-UTF-8 header, a length that lies, a huge length
    // with nothing behind it but the next message.
    c.stdin
        .write_all(b"X-\xff\xfe: 1\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    assert_eq!(c.recv()["error"]["code"], -32600);
    c.stdin
        .write_all(b"Content-Length: nope\r\n\r\n{\"jsonrpc\":\"2.0\"}")
        .unwrap();
    assert_eq!(c.recv()["error"]["code"], -32700);
    c.stdin.flush().unwrap();
    // After any of that, a well-formed request is answered.
    let r = c.request("textDocument/hover", json!({"textDocument": {"uri": "file:///x.scalepol"}, "position": {"line": 0, "character": 0}}));
    assert!(r.get("error").is_some() || r.get("result").is_some(), "{r}");
    // `shutdown` with `params: null`, as Emacs Eglot and IntelliJ send it.
    c.id += 1;
    let id = c.id;
    c.send_raw(
        &json!({"jsonrpc": "2.0", "id": id, "method": "shutdown", "params": null}).to_string(),
    );
    let r = loop {
        let m = c.recv();
        if m["id"] == id {
            break m;
        }
    };
    assert!(r.get("error").is_none(), "{r}");
    c.notify("exit", Value::Null);
    let status = c.child.wait().unwrap();
    assert!(status.success());
}

/// A message over 64 MiB is read past, not kept, and the next one answered.
#[test]
fn an_oversized_message_is_skipped() {
    let dir = workspace();
    let mut c = Client::start(dir.path());
    let n = (64 << 20) + 10;
    write!(c.stdin, "Content-Length: {n}\r\n\r\n").unwrap();
    let chunk = vec![b' '; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len());
        c.stdin.write_all(&chunk[..k]).unwrap();
        left -= k;
    }
    assert_eq!(c.recv()["error"]["code"], -32700);
    let r = c.request("no/such/method", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    c.stop();
}

/// A policy of about 2,000 lines: many pools and rules.
fn big_policy() -> String {
    let mut s = String::from("policy big {\n  workload deployment \"llm/big\"\n\n  metrics prometheus \"http://p:9090\" {\n    queue = `sum(q)`\n  }\n\n");
    for i in 0..155 {
        s.push_str(&format!(
            "  // Pool {i}.\n  pool p{i}: gpu {{\n    accelerator \"nvidia-l4\"\n    replicas 1..8\n    warmup 2m\n    capacity 16 concurrent\n    cost $0.85/h\n  }}\n\n  scale p{i} {{\n    on queue per replica target 4\n  }}\n\n"
        ));
    }
    s.push_str("}\n");
    s
}

#[test]
fn latency_on_a_2000_line_policy() {
    let dir = workspace();
    let uri = url(&dir.path().join("big.scalepol"));
    let text = big_policy();
    assert!(text.lines().count() >= 2000, "{}", text.lines().count());
    let mut c = Client::start(dir.path());
    c.open(&uri, &text);
    let (l, ch) = pos(&text, "on queue", 4);
    let mut worst = [Duration::ZERO; 3];
    for round in 0..5 {
        let t = Instant::now();
        let h = c.at("textDocument/hover", &uri, l, ch);
        worst[0] = worst[0].max(t.elapsed());
        assert!(!h["result"].is_null());
        let t = Instant::now();
        let comp = c.at("textDocument/completion", &uri, l, ch);
        worst[1] = worst[1].max(t.elapsed());
        assert!(!comp["result"].as_array().unwrap().is_empty());
        let t = Instant::now();
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": round + 2}, "contentChanges": [{"range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}, "text": " "}]}),
        );
        c.diagnostics(&uri, round + 2);
        worst[2] = worst[2].max(t.elapsed());
    }
    eprintln!(
        "2,000 lines, worst of 5: hover {:?}, completion {:?}, diagnostics after a change {:?}",
        worst[0], worst[1], worst[2]
    );
    // Generous bounds for debug builds on a busy machine; the release
    // figures are in the README.
    assert!(worst[0] < Duration::from_millis(500) && worst[1] < Duration::from_millis(500));
    assert!(worst[2] < Duration::from_millis(2000));
    c.stop();
}

mod random_edits {
    use super::*;
    use proptest::prelude::*;
    use scalepol_lsp::text::Text;

    fn piece() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "pool",
                " x",
                "\n",
                "é",
                "🚀",
                "中",
                "`",
                "{",
                "}",
                "2m",
                "replicas 1..4",
                "\"",
            ]),
            0..4,
        )
        .prop_map(|v| v.concat())
    }

    /// The server's diagnostics, as (code, start, end), for comparison.
    fn summary(diags: &Value) -> Vec<(String, Value, Value)> {
        let mut v: Vec<_> = diags
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["code"].as_str().unwrap().to_string(),
                    d["range"]["start"].clone(),
                    d["range"]["end"].clone(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.to_string().cmp(&b.1.to_string())));
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        /// Random edits at random UTF-16 positions, sent incrementally: the
        /// server never crashes, and its copy of the document stays the
        /// client's (its diagnostics are those of the client's text).
        #[test]
        fn the_server_keeps_the_clients_text(edits in prop::collection::vec((0u32..30, 0u32..50, 0u32..3, 0u32..8, piece()), 1..10)) {
            let dir = workspace();
            let path = dir.path().join("chat.scalepol");
            let uri = url(&path);
            let mut c = Client::start(dir.path());
            c.open(&uri, POLICY);
            let mut mirror = Text::new(POLICY.to_string());
            let mut version = 1;
            for (line, ch, lines, chars, insert) in edits {
                version += 1;
                let start = Position { line, character: ch };
                let end = Position { line: line + lines, character: chars };
                let change = json!({"range": {"start": start.json(), "end": end.json()}, "text": insert});
                mirror.apply(&serde_json::from_value(change.clone()).unwrap());
                c.notify("textDocument/didChange", json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}));
            }
            let got = c.diagnostics(&uri, version);
            let local = scalepol_compiler::check_source(&path.to_string_lossy(), &mirror.text, &scalepol_compiler::FsLoader);
            let expected: Vec<Value> = local
                .diagnostics
                .iter()
                .filter(|d| d.primary.file.0 == 0)
                .map(|d| {
                    let r = mirror.span_range(d.primary.span);
                    json!({"code": d.code, "range": {"start": {"line": r.start.line, "character": r.start.character}, "end": {"line": r.end.line, "character": r.end.character}}})
                })
                .collect();
            // Findings located in the defaults file show at `extends`,
            // named "in FILE: ...": the local check keeps only this file's.
            let own: Vec<Value> = got
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| !d["message"].as_str().unwrap_or("").starts_with("in "))
                .cloned()
                .collect();
            let server = summary(&Value::Array(own));
            prop_assert_eq!(server, summary(&Value::Array(expected)));
            c.stop();
        }
    }

    struct Position {
        line: u32,
        character: u32,
    }

    impl Position {
        fn json(&self) -> Value {
            json!({"line": self.line, "character": self.character})
        }
    }
}

/// The flags vscode-languageclient passes with `TransportKind.stdio`
/// (`--stdio`, `--clientProcessId=PID`) start the server like `lsp` alone.
#[test]
fn the_transport_flags_clients_pass_are_accepted() {
    let ws = workspace();
    for args in [
        vec!["lsp", "--stdio"],
        vec!["lsp", "--stdio", "--clientProcessId=4242"],
        vec!["lsp", "--clientProcessId", "4242", "--stdio"],
    ] {
        let mut c = Client::start_args(ws.path(), json!({}), &args);
        let r = c.request("shutdown", Value::Null);
        assert!(r.get("error").is_none(), "{args:?}: {r}");
    }
}

/// The server applies the project's levels (scalepol.toml, found from the
/// document's folder upward) as `scalepol check` does: the editor shows
/// what CI will say.
#[test]
fn the_project_levels_apply_in_the_editor() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("policies")).unwrap();
    let text = "policy svc {\n  workload deployment \"ml/svc\"\n  pool main: cpu {\n    replicas 1..4\n  }\n  metrics prometheus \"http://p\" {\n    spare = `sum(x)`\n  }\n  scale {\n    on cpu target 70%\n  }\n}\n";
    let path = root.join("policies/svc.scalepol");
    std::fs::write(&path, text).unwrap();
    let uri = url(&path);
    let severity_of_unused = |c: &mut Client| -> Option<i64> {
        let diags = c.open(&uri, text);
        diags
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "SP0220")
            .map(|d| d["severity"].as_i64().unwrap())
    };
    let mut c = Client::start(root);
    assert_eq!(severity_of_unused(&mut c), Some(2), "a warning by default");
    c.stop();
    std::fs::write(
        root.join("scalepol.toml"),
        "[levels]\nunused-metric = \"error\"\n",
    )
    .unwrap();
    let mut c = Client::start(root);
    assert_eq!(
        severity_of_unused(&mut c),
        Some(1),
        "an error in this project"
    );
    c.stop();
    std::fs::write(root.join("scalepol.toml"), "[levels]\nSP0220 = \"allow\"\n").unwrap();
    let mut c = Client::start(root);
    assert_eq!(severity_of_unused(&mut c), None, "allowed in this project");
    c.stop();
}
