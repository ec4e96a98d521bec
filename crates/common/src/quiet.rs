//! Running code that may panic on hostile input without printing a crash
//! report: cel-parser panics on some malformed input (an unclosed call) and
//! cel-interpreter on some well-formed expressions it does not implement (a
//! comprehension over a number, a message literal). For the user that is an
//! invalid expression, not a crash.

use std::cell::Cell;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err` without printing it. The hook,
/// installed once, stays silent only on a thread inside this function and
/// otherwise defers to the hook it replaced.
pub fn quietly<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(f);
    QUIET.with(|q| q.set(was));
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_is_an_error_and_the_thread_goes_on() {
        let r = super::quietly(|| -> u32 { panic!("not implemented") });
        assert!(r.is_err());
        assert_eq!(super::quietly(|| 7).ok(), Some(7));
    }
}
