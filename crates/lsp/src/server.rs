//! The tower-lsp glue: documents in, LSP types out. Every feature is a pure
//! function in the modules beside this one: of an [`Analysis`] for one
//! document, of a `Workspace` snapshot (taken under the lock, used without
//! it) for rename and workspace symbols.

use crate::analysis::Analysis;
use crate::completion::{self, Kind};
use crate::convert::*;
use crate::outline::{self, TOKEN_TYPES};
use crate::text::Text;
use crate::workspace::{self, Workspace};
use crate::{actions, hover, navigate};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use tower_lsp::jsonrpc::{Error, Result};
use tower_lsp::lsp_types::*;
use tower_lsp::{Client, LanguageServer};

pub struct Backend {
    client: Client,
    docs: Mutex<HashMap<Url, Analysis>>,
    root: Mutex<Option<PathBuf>>,
    /// Positions in bytes, when the client offered `utf-8`.
    utf8: std::sync::atomic::AtomicBool,
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        Backend {
            client,
            docs: Mutex::new(HashMap::new()),
            root: Mutex::new(None),
            utf8: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn with_doc<T>(&self, uri: &Url, f: impl FnOnce(&Analysis) -> T) -> Result<T> {
        let docs = self.docs.lock().expect("not poisoned");
        let a = docs.get(uri).ok_or_else(|| {
            Error::invalid_params(format!("unknown document {uri}: open it first"))
        })?;
        Ok(f(a))
    }

    /// The workspace as features see it: the open buffers and the policy
    /// files under the root.
    fn workspace(&self, docs: &HashMap<Url, Analysis>) -> Workspace {
        let open = docs
            .values()
            .map(|a| (a.name.clone(), a.text.text.clone()))
            .collect();
        let root = self.root.lock().expect("not poisoned").clone();
        Workspace::snapshot(open, root.as_deref())
    }

    /// Re-checks a document and publishes its diagnostics.
    async fn update(&self, uri: Url, text: Text, version: i32) {
        let diagnostics = {
            let mut docs = self.docs.lock().expect("not poisoned");
            let name = file_name(&uri);
            let a = Analysis::new(
                &name,
                text,
                version,
                &BufferLoader { docs: &docs },
                docs.get(&uri),
            );
            let out = lsp_diagnostics(&uri, &a);
            docs.insert(uri.clone(), a);
            out
        };
        self.client
            .publish_diagnostics(uri, diagnostics, Some(version))
            .await;
    }
}

#[tower_lsp::async_trait]
impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        #[allow(deprecated)] // root_uri is what most clients still send
        let root = params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| f.uri.clone())
            .or(params.root_uri)
            .and_then(|u| u.to_file_path().ok());
        *self.root.lock().expect("not poisoned") = root;
        // Bytes when the client can: no UTF-16 counting on every request.
        let utf8 = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
        self.utf8.store(utf8, std::sync::atomic::Ordering::Relaxed);
        Ok(InitializeResult {
            server_info: Some(ServerInfo {
                name: "scalepol".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            capabilities: ServerCapabilities {
                position_encoding: Some(if utf8 {
                    PositionEncodingKind::UTF8
                } else {
                    PositionEncodingKind::UTF16
                }),
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::INCREMENTAL,
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec!["`".into(), "\"".into(), " ".into()]),
                    ..CompletionOptions::default()
                }),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: Default::default(),
                })),
                document_symbol_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                semantic_tokens_provider: Some(
                    SemanticTokensServerCapabilities::SemanticTokensOptions(
                        SemanticTokensOptions {
                            legend: SemanticTokensLegend {
                                token_types: TOKEN_TYPES
                                    .iter()
                                    .map(|t| SemanticTokenType::new(t))
                                    .collect(),
                                token_modifiers: vec![],
                            },
                            full: Some(SemanticTokensFullOptions::Bool(true)),
                            range: None,
                            work_done_progress_options: Default::default(),
                        },
                    ),
                ),
                ..ServerCapabilities::default()
            },
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, p: DidOpenTextDocumentParams) {
        let d = p.text_document;
        let utf8 = self.utf8.load(std::sync::atomic::Ordering::Relaxed);
        self.update(d.uri, Text::new(d.text).with_utf8(utf8), d.version)
            .await;
    }

    async fn did_change(&self, p: DidChangeTextDocumentParams) {
        let uri = p.text_document.uri;
        let text = {
            let docs = self.docs.lock().expect("not poisoned");
            let Some(a) = docs.get(&uri) else { return };
            let mut t = a.text.clone();
            for c in &p.content_changes {
                t.apply(c);
            }
            t
        };
        self.update(uri, text, p.text_document.version).await;
    }

    async fn did_close(&self, p: DidCloseTextDocumentParams) {
        self.docs
            .lock()
            .expect("not poisoned")
            .remove(&p.text_document.uri);
        self.client
            .publish_diagnostics(p.text_document.uri, Vec::new(), None)
            .await;
    }

    async fn hover(&self, p: HoverParams) -> Result<Option<Hover>> {
        let pos = p.text_document_position_params;
        self.with_doc(&pos.text_document.uri, |a| {
            let offset = a.text.offset(pos.position);
            hover::hover(a, offset).map(|(md, span)| Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: md,
                }),
                range: Some(a.text.span_range(span)),
            })
        })
    }

    async fn completion(&self, p: CompletionParams) -> Result<Option<CompletionResponse>> {
        let pos = p.text_document_position;
        self.with_doc(&pos.text_document.uri, |a| {
            let offset = a.text.offset(pos.position);
            let here = a.text.range(offset, offset);
            let items = completion::complete(a, offset)
                .into_iter()
                .map(|i| CompletionItem {
                    kind: Some(match i.kind {
                        Kind::Keyword => CompletionItemKind::KEYWORD,
                        Kind::Snippet => CompletionItemKind::SNIPPET,
                        Kind::Unit => CompletionItemKind::UNIT,
                        Kind::Metric => CompletionItemKind::VARIABLE,
                        Kind::Pool => CompletionItemKind::CLASS,
                        Kind::Value => CompletionItemKind::VALUE,
                        Kind::Function => CompletionItemKind::FUNCTION,
                    }),
                    detail: (!i.detail.is_empty()).then(|| i.detail.clone()),
                    insert_text_format: i.snippet.as_ref().map(|_| InsertTextFormat::SNIPPET),
                    insert_text: i.snippet.clone(),
                    filter_text: i.append.as_ref().map(|(_, f)| f.clone()),
                    text_edit: i
                        .append
                        .as_ref()
                        .map(|(t, _)| CompletionTextEdit::Edit(TextEdit::new(here, t.clone()))),
                    label: i.label,
                    ..CompletionItem::default()
                })
                .collect();
            Some(CompletionResponse::Array(items))
        })
    }

    async fn goto_definition(
        &self,
        p: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let pos = p.text_document_position_params;
        let uri = pos.text_document.uri;
        self.with_doc(&uri, |a| {
            let offset = a.text.offset(pos.position);
            if let Some(file) = navigate::extends_at(a, offset) {
                let span = scalepol_syntax::Span::new(0, 0);
                return location(&uri, a, file, span).map(GotoDefinitionResponse::Scalar);
            }
            let (_, name) = navigate::name_at(a, offset)?;
            let place = navigate::definition(a, &name)?;
            location(&uri, a, place.file, place.span).map(GotoDefinitionResponse::Scalar)
        })
    }

    async fn references(&self, p: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let pos = p.text_document_position;
        let uri = pos.text_document.uri;
        self.with_doc(&uri, |a| {
            let (_, name) = navigate::name_at(a, a.text.offset(pos.position))?;
            let mut out: Vec<Location> = navigate::references(a, &name)
                .into_iter()
                .map(|s| Location::new(uri.clone(), a.text.span_range(s)))
                .collect();
            if let Some(place) = navigate::definition(a, &name).filter(|d| d.file > 0) {
                out.extend(location(&uri, a, place.file, place.span));
            }
            Some(out)
        })
    }

    async fn prepare_rename(
        &self,
        p: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        self.with_doc(&p.text_document.uri, |a| {
            let (span, _) = navigate::name_at(a, a.text.offset(p.position))?;
            Some(PrepareRenameResponse::Range(a.text.span_range(span)))
        })
    }

    async fn rename(&self, p: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let pos = p.text_document_position;
        let uri = pos.text_document.uri;
        // A snapshot first: the workspace is checked without the lock.
        let (analysis, ws) = {
            let docs = self.docs.lock().expect("not poisoned");
            let a = docs
                .get(&uri)
                .ok_or_else(|| Error::invalid_params(format!("unknown document {uri}")))?;
            (a.clone(), self.workspace(&docs))
        };
        let offset = analysis.text.offset(pos.position);
        let edits = workspace::rename(&analysis, offset, &p.new_name, &ws)
            .map_err(|e| Error::invalid_params(e.to_string()))?;
        let Some(edits) = edits else {
            return Ok(None);
        };
        let mut changes: HashMap<Url, Vec<TextEdit>> = HashMap::new();
        for f in edits {
            let Some(u) = (if f.name == analysis.name {
                Some(uri.clone())
            } else {
                uri_of(&f.name)
            }) else {
                continue;
            };
            let t = Text::new(f.text).with_utf8(analysis.text.utf8);
            let e = f
                .spans
                .into_iter()
                .map(|s| TextEdit::new(t.span_range(s), p.new_name.clone()))
                .collect();
            changes.insert(u, e);
        }
        Ok(Some(WorkspaceEdit {
            changes: Some(changes),
            ..WorkspaceEdit::default()
        }))
    }

    async fn document_symbol(
        &self,
        p: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        self.with_doc(&p.text_document.uri, |a| {
            let doc = a.tree()?;
            let syms = outline::symbols(doc)
                .iter()
                .map(|s| document_symbol(&a.text, s))
                .collect();
            Some(DocumentSymbolResponse::Nested(syms))
        })
    }

    #[allow(deprecated)] // SymbolInformation::deprecated is required by the type
    async fn symbol(&self, p: WorkspaceSymbolParams) -> Result<Option<Vec<SymbolInformation>>> {
        let ws = {
            let docs = self.docs.lock().expect("not poisoned");
            self.workspace(&docs)
        };
        let utf8 = self.utf8.load(std::sync::atomic::Ordering::Relaxed);
        let mut texts: HashMap<String, Text> = HashMap::new();
        let mut out = Vec::new();
        for s in workspace::symbols(&ws, &p.query) {
            let Some(uri) = uri_of(&s.file) else { continue };
            let t = texts
                .entry(s.file.clone())
                .or_insert_with(|| Text::new(s.text).with_utf8(utf8));
            out.push(SymbolInformation {
                name: s.symbol.name,
                kind: symbol_kind(s.symbol.kind),
                tags: None,
                deprecated: None,
                location: Location::new(uri, t.span_range(s.symbol.selection)),
                container_name: None,
            });
        }
        Ok(Some(out))
    }

    async fn folding_range(&self, p: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        self.with_doc(&p.text_document.uri, |a| {
            let doc = a.tree()?;
            let ranges = outline::folds(doc)
                .into_iter()
                .filter_map(|(s, comment)| {
                    let (start, end) = (a.text.position(s.start).line, a.text.position(s.end).line);
                    let end = if comment { end } else { end.saturating_sub(1) };
                    (end > start).then(|| FoldingRange {
                        start_line: start,
                        end_line: end,
                        kind: Some(if comment {
                            FoldingRangeKind::Comment
                        } else {
                            FoldingRangeKind::Region
                        }),
                        ..FoldingRange::default()
                    })
                })
                .collect();
            Some(ranges)
        })
    }

    async fn semantic_tokens_full(
        &self,
        p: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        self.with_doc(&p.text_document.uri, |a| {
            let doc = a.tree()?;
            let mut names = a.metric_names();
            names.extend(a.pool_names());
            let data = encode_tokens(&a.text, &outline::tokens(doc, &names));
            Some(SemanticTokensResult::Tokens(SemanticTokens {
                result_id: None,
                data,
            }))
        })
    }

    async fn formatting(&self, p: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        self.with_doc(&p.text_document.uri, |a| {
            let out = actions::format(a)?;
            Some(vec![TextEdit::new(a.text.range(0, a.text.text.len()), out)])
        })
    }

    async fn code_action(&self, p: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = p.text_document.uri;
        self.with_doc(&uri, |a| {
            let range = scalepol_syntax::Span::new(
                a.text.offset(p.range.start),
                a.text.offset(p.range.end),
            );
            let list = actions::actions(a, range)
                .into_iter()
                .map(|x| {
                    let d = lsp_diagnostic(&uri, a, &a.diagnostics[x.diagnostic]);
                    let edit = TextEdit::new(a.text.span_range(x.edit.0), x.edit.1);
                    CodeActionOrCommand::CodeAction(CodeAction {
                        title: x.title,
                        kind: Some(CodeActionKind::QUICKFIX),
                        diagnostics: Some(vec![d]),
                        edit: Some(WorkspaceEdit {
                            changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                            ..WorkspaceEdit::default()
                        }),
                        is_preferred: Some(x.preferred),
                        ..CodeAction::default()
                    })
                })
                .collect();
            Some(list)
        })
    }
}
