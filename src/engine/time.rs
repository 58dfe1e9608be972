//! A millisecond clock that works everywhere: `std::time::Instant` panics on
//! wasm32-unknown-unknown, so there we ask JavaScript (`performance.now()`, available in
//! windows, workers and Node; `Date.now()` otherwise). Other targets (native, WASI) use
//! `Instant`.

/// Milliseconds since an arbitrary fixed origin; only differences are meaningful.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn now_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}

/// Milliseconds since an arbitrary fixed origin; only differences are meaningful.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub fn now_ms() -> f64 {
    use js_sys::{Function, Reflect};
    use wasm_bindgen::JsCast;
    let global = js_sys::global();
    let perf = Reflect::get(&global, &"performance".into()).ok();
    if let Some(perf) = perf.filter(|p| p.is_object()) {
        if let Ok(now) = Reflect::get(&perf, &"now".into()) {
            if let Some(f) = now.dyn_ref::<Function>() {
                if let Some(t) = f.call0(&perf).ok().and_then(|v| v.as_f64()) {
                    return t;
                }
            }
        }
    }
    js_sys::Date::now()
}
