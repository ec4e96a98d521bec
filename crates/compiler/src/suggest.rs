//! "Did you mean" suggestions.

/// The candidate closest to `word`, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Like [`closest`] over owned names.
pub fn closest_owned<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let v: Vec<&str> = candidates.collect();
    closest(word, &v)
}

/// Adds "did you mean `X`?" and a fix replacing `span` when a candidate is
/// close to `word`; otherwise the `otherwise` help (usually the list of
/// what is allowed).
pub fn did_you_mean(
    d: crate::diagnostics::Diagnostic,
    word: &str,
    candidates: &[&str],
    span: scalepol_syntax::Span,
    otherwise: String,
) -> crate::diagnostics::Diagnostic {
    match closest(word, candidates) {
        Some(s) => {
            d.help(format!("did you mean `{s}`?"))
                .fix(format!("replace with `{s}`"), span, s)
        }
        None => d.help(otherwise),
    }
}
