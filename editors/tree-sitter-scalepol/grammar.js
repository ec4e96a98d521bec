/**
 * Tree-sitter grammar for scalepol policies (`.scalepol`).
 *
 * It mirrors the surface grammar of the compiler (crates/syntax/src/scalepol.pest):
 * a document is a tree of nodes; a node is a keyword, arguments on the same
 * line and an optional `{ block }`. Newlines, `,` and `;` separate nodes.
 * Meaning is given to keywords by the highlight queries, which are generated
 * from the compiler's vocabulary (crates/compiler/src/vocabulary.rs).
 *
 * @file scalepol grammar for tree-sitter
 * @license Apache-2.0
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

// A scalar: an optional `$`, a number, an optional unit (`%`, `ms`, `/h`, `Gi`, `tokens/s`).
const SCALAR = /\$?-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?(%|\/?[A-Za-z]+(\/[A-Za-z]+)?)?/;

module.exports = grammar({
  name: 'scalepol',

  // Spaces and tabs only: a newline ends a node.
  extras: $ => [/[ \t]/, $.comment],

  word: $ => $.identifier,

  rules: {
    source_file: $ => repeat($._item),

    _item: $ => choice($._newline, $.node, ',', ';'),

    _newline: _ => /\r\n|\r|\n/,

    node: $ => prec.right(seq(
      field('keyword', $.identifier),
      repeat($._argument),
      optional(field('body', $.block)),
    )),

    block: $ => seq('{', repeat($._item), '}'),

    _argument: $ => choice($.identifier, $.value, $.string, $.code, $.operator),

    // `.` for names like `p99.9`, `/` for `req/s`, `-` for `chat-llama3`.
    // A `/` joins two parts of a word; `//` starts a comment, even in a word.
    identifier: _ => /[A-Za-z_][A-Za-z0-9_\-.]*(\/[A-Za-z0-9_\-.]+)*/,

    // `12`, `800ms`, `$0.81/h`, `1..12`, `2Gi..16Gi`: one token, as in the compiler.
    value: _ => token(seq(SCALAR, optional(seq('..', SCALAR)))),

    // The escapes the compiler knows: \", \\, \n and \t.
    string: _ => token(seq('"', repeat(choice(/[^"\\\r\n]/, /\\["\\nt]/)), '"')),

    // A CEL condition or a PromQL query, in back-quotes.
    code: _ => token(seq('`', /[^`]*/, '`')),

    operator: _ => choice('<=', '>=', '==', '!=', '<', '>', '=', ':'),

    comment: _ => token(seq('//', /[^\r\n]*/)),
  },
});
