// Attention scores S[(t · n_head + h) · n_kv + j] = cap(scale · q(t, h) · k(j, h / group)) for
// every cached position j < n_kv; positions the query at p0 + t may not see (the future, or
// beyond the sliding window) get −∞. One thread per (j, h, t).
struct Params {
    n_kv: u32,
    n_head: u32,
    group: u32,      // query heads per KV head
    head_dim: u32,
    p0: u32,
    window: u32,     // 0: none
    q_off: u32,
    scale: f32,
    softcap: f32,    // 0: none; else softcap · tanh(q·k / softcap), before `scale`
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> KC: array<u32>;
@group(0) @binding(3) var<storage, read_write> S: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let h = gid.y;
    let t = gid.z;
    if (j >= p.n_kv) {
        return;
    }
    let pos = p.p0 + t;
    var visible = j <= pos;
    if (p.window != 0u && pos - j >= p.window) {
        visible = false;
    }
    let o = (t * p.n_head + h) * p.n_kv + j;
    if (!visible) {
        S[o] = -3.0e38;
        return;
    }
    let pairs = p.head_dim / 2u;
    let kv_heads = p.n_head / p.group;
    let kb = (j * kv_heads + h / p.group) * pairs;
    let qb = p.q_off + (t * p.n_head + h) * p.head_dim;
    var acc = 0.0;
    for (var i = 0u; i < pairs; i++) {
        let k = unpack2x16float(KC[kb + i]);
        acc += Q[qb + 2u * i] * k.x + Q[qb + 2u * i + 1u] * k.y;
    }
    // Capped before the scaling, in ggml's order: scale(tanh(scale(qk, 1/c)), c), then the scale.
    var s = acc;
    if (p.softcap > 0.0) {
        s = tanh(s * (1.0 / p.softcap)) * p.softcap;
    }
    S[o] = s * p.scale;
}
