// A smoke test of the extension without VS Code: `vscode` and
// `vscode-languageclient/node` are replaced by stubs, the extension is
// activated, and the stub client starts the server command the extension
// chose and runs `initialize` against it over stdio.
//   node test/smoke.js PATH-TO-SCALEPOL
const Module = require("module");
const { spawn } = require("child_process");
const path = require("path");

const binary = process.argv[2];
if (!binary) {
  console.error("usage: node test/smoke.js PATH-TO-SCALEPOL");
  process.exit(2);
}

let started = null;
const stubs = {
  vscode: {
    workspace: { getConfiguration: () => ({ get: (k) => (k === "path" ? binary : undefined) }) },
  },
  "vscode-languageclient/node": {
    TransportKind: { stdio: 0 },
    LanguageClient: class {
      constructor(id, name, server, client) {
        this.server = server;
        this.client = client;
      }
      start() {
        started = this;
        return initialize(this.server);
      }
      stop() {
        return Promise.resolve();
      }
    },
  },
};
const load = Module._load;
Module._load = function (request, parent, isMain) {
  return request in stubs ? stubs[request] : load.call(this, request, parent, isMain);
};

function frame(msg) {
  const body = JSON.stringify(msg);
  return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function initialize(server) {
  return new Promise((resolve, reject) => {
    const child = spawn(server.command, server.args, { stdio: ["pipe", "pipe", "inherit"] });
    let buf = Buffer.alloc(0);
    let answered = false;
    // The server closes its end after `exit`; a late write is not a failure.
    child.stdin.on("error", () => {});
    const timer = setTimeout(() => reject(new Error("no answer to initialize in 10 s")), 10000);
    child.on("error", reject);
    child.stdout.on("data", (d) => {
      if (answered) return; // later messages (the shutdown's answer) are not needed
      buf = Buffer.concat([buf, d]);
      const text = buf.toString();
      const head = text.indexOf("\r\n\r\n");
      if (head < 0) return;
      const len = parseInt(/Content-Length: (\d+)/.exec(text.slice(0, head))[1], 10);
      const body = buf.slice(head + 4, head + 4 + len);
      if (body.length < len) return;
      clearTimeout(timer);
      answered = true;
      const msg = JSON.parse(body.toString());
      child.stdin.write(frame({ jsonrpc: "2.0", id: 2, method: "shutdown" }));
      child.stdin.write(frame({ jsonrpc: "2.0", method: "exit" }));
      child.on("exit", (code) => resolve({ msg, code }));
    });
    child.stdin.write(
      frame({ jsonrpc: "2.0", id: 1, method: "initialize", params: { processId: null, rootUri: null, capabilities: {} } })
    );
  });
}

const ext = require(path.join(__dirname, "..", "extension.js"));
const pkg = require(path.join(__dirname, "..", "package.json"));
const subscriptions = [];
ext
  .activate({ subscriptions })
  .then(({ msg, code }) => {
    const caps = msg.result && msg.result.capabilities;
    const checks = [
      [started && started.server.command === binary, "the client runs the configured binary"],
      [started && started.server.args.join(" ") === "lsp", "with `lsp`"],
      [started.client.documentSelector.some((s) => s.language === "scalepol"), "for scalepol documents"],
      [caps && caps.hoverProvider && caps.completionProvider && caps.documentFormattingProvider, "the server answers initialize"],
      [msg.result.serverInfo.name === "scalepol", "it is scalepol"],
      [code === 0, "and exits cleanly"],
      [pkg.contributes.languages[0].extensions.includes(".scalepol"), "the extension claims .scalepol files"],
      [pkg.activationEvents.includes("onLanguage:scalepol"), "and activates on them"],
    ];
    const failed = checks.filter(([ok]) => !ok);
    for (const [ok, what] of checks) console.log(`${ok ? "ok" : "FAILED"}: ${what}`);
    process.exit(failed.length ? 1 : 0);
  })
  .catch((e) => {
    console.error(`FAILED: ${e.message}`);
    process.exit(1);
  });
