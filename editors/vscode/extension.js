// The scalepol extension: starts `scalepol lsp` over stdio for .scalepol
// files. Everything else (diagnostics, hover, completion, formatting, ...)
// comes from the server.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

/** The server command: `scalepol.path` (default: `scalepol` on PATH) with `lsp`. */
function serverOptions(config) {
  const command = (config && config.get("path")) || "scalepol";
  return { command, args: ["lsp"], transport: TransportKind.stdio };
}

function activate(context) {
  const config = vscode.workspace.getConfiguration("scalepol");
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "scalepol" }, { scheme: "untitled", language: "scalepol" }],
  };
  client = new LanguageClient("scalepol", "scalepol", serverOptions(config), clientOptions);
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

/** The running client (for tests). */
function runningClient() {
  return client;
}

module.exports = { activate, deactivate, serverOptions, client: runningClient };
