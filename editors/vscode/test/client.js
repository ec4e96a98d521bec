// The extension with the real `vscode-languageclient` (its own server
// launch, stdio transport and handshake) against the real `scalepol`
// binary. Only the `vscode` module is stubbed: VS Code itself cannot run
// here. The stub answers every API the client touches with an inert
// object; the editor state the test needs (configuration, one open
// document) is given explicitly.
//   node test/client.js PATH-TO-SCALEPOL
// (run `npm install` in editors/vscode first)
const Module = require("module");
const path = require("path");

const binary = process.argv[2];
if (!binary) {
  console.error("usage: node test/client.js PATH-TO-SCALEPOL");
  process.exit(2);
}

// An object that is any API: a callable, constructible value whose every
// property is another such value, iterable as an empty list, and never a
// promise (so `await` does not hang on it).
function inert() {
  const target = function () {};
  return new Proxy(target, {
    get(_, prop) {
      if (prop === "then") return undefined;
      if (prop === Symbol.iterator) return function* () {};
      if (prop === Symbol.toPrimitive) return () => 0;
      if (prop === "dispose") return () => {};
      if (prop === "length") return 0;
      return inert();
    },
    apply() {
      return inert();
    },
    construct() {
      return inert();
    },
  });
}

class Disposable {
  constructor(fn) {
    this.fn = fn;
  }
  static from(...items) {
    return new Disposable(() => items.forEach((i) => i && i.dispose && i.dispose()));
  }
  dispose() {
    if (this.fn) this.fn();
  }
}

class EventEmitter {
  constructor() {
    this.listeners = [];
    this.event = (l) => {
      this.listeners.push(l);
      return new Disposable(() => {});
    };
  }
  fire(e) {
    this.listeners.forEach((l) => l(e));
  }
  dispose() {}
}

const outputLines = [];
const vscode = new Proxy(
  {
    // The oldest VS Code the extension declares (package.json engines).
    version: "1.82.0",
    Disposable,
    EventEmitter,
    workspace: new Proxy(
      {
        getConfiguration: () => ({ get: (k, d) => (k === "path" ? binary : d) }),
        workspaceFolders: undefined,
        textDocuments: [],
      },
      { get: (t, p) => (p in t ? t[p] : inert()) }
    ),
    env: new Proxy(
      { appName: "Visual Studio Code", appRoot: "/", language: "en", machineId: "test", sessionId: "test" },
      { get: (t, p) => (p in t ? t[p] : inert()) }
    ),
    window: new Proxy(
      {
        showErrorMessage: (...a) => (outputLines.push("error: " + a[0]), Promise.resolve(undefined)),
        showWarningMessage: () => Promise.resolve(undefined),
        showInformationMessage: () => Promise.resolve(undefined),
        createOutputChannel: (name) => ({
          name,
          append: (s) => outputLines.push(s),
          appendLine: (s) => outputLines.push(s),
          replace: () => {},
          clear: () => {},
          show: () => {},
          hide: () => {},
          dispose: () => {},
        }),
      },
      { get: (t, p) => (p in t ? t[p] : inert()) }
    ),
  },
  { get: (t, p) => (p in t ? t[p] : inert()) }
);

const load = Module._load;
Module._load = function (request, parent, isMain) {
  return request === "vscode" ? vscode : load.call(this, request, parent, isMain);
};

async function main() {
  const ext = require(path.join(__dirname, "..", "extension.js"));
  const context = { subscriptions: [] };
  const started = ext.activate(context);
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("no handshake in 20 s")), 20000));
  await Promise.race([started, timeout]);
  // The client is running: ask the server something through it.
  const caps = ext.client().initializeResult.capabilities;
  if (!caps.hoverProvider || !caps.completionProvider) {
    throw new Error("the server did not announce hover and completion: " + JSON.stringify(caps));
  }
  const uri = "file:///tmp/svc.scalepol";
  const text = 'policy svc {\n  workload deployment "ml/svc"\n  pool main: cpu {\n    replicas 1..4\n  }\n  scale {\n    on cpu target 70%\n  }\n}\n';
  ext.client().sendNotification("textDocument/didOpen", {
    textDocument: { uri, languageId: "scalepol", version: 1, text },
  });
  const hover = await ext.client().sendRequest("textDocument/hover", {
    textDocument: { uri },
    position: { line: 3, character: 5 },
  });
  const shown = JSON.stringify(hover && hover.contents);
  if (!shown || !shown.includes("replica")) throw new Error("hover: " + shown);
  await ext.deactivate();
  console.log("ok: vscode-languageclient started `" + binary + " lsp --stdio`, completed the handshake, and hovered");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error("fail: " + (e && e.stack ? e.stack : e));
    console.error(outputLines.join("\n"));
    process.exit(1);
  }
);
