//! The scalepol language server over stdio (tower-lsp), on the compiler
//! crate: no second parser, no second checker. Each feature is a pure
//! function of a document's [`analysis::Analysis`]; `server` only converts
//! to and from LSP types.

pub mod actions;
pub mod analysis;
pub mod completion;
mod convert;
mod framing;
pub mod hover;
pub mod navigate;
pub mod outline;
mod server;
pub mod text;
pub mod workspace;

/// Serves LSP on stdin and stdout until the client exits.
pub fn serve_stdio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let (service, socket) = tower_lsp::LspService::new(server::Backend::new);
        let (to_server, server_in) = tokio::io::duplex(1 << 16);
        let (server_out, from_server) = tokio::io::duplex(1 << 16);
        let (errors_tx, errors_rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(framing::filter_input(
            tokio::io::stdin(),
            to_server,
            errors_tx,
        ));
        let output = tokio::spawn(framing::merge_output(
            from_server,
            errors_rx,
            tokio::io::stdout(),
        ));
        tower_lsp::Server::new(server_in, server_out, socket)
            .serve(service)
            .await;
        let _ = output.await;
    });
    // The stdin reader blocks in a thread until the client closes the pipe;
    // after `exit`, do not wait for it.
    rt.shutdown_background();
}
