// In place on `n` values of X from `x_off`:
//   OP 0: x · s, then rounded to f16 if `round` (queries meeting an f16 KV cache, as in
//         llama.cpp);
//   OP 1: s · tanh(x / s) (final logit soft-capping).
struct Params {
    n: u32,
    x_off: u32,
    op: u32,
    round: u32,
    s: f32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> X: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= p.n) {
        return;
    }
    let x = X[p.x_off + i];
    var y: f32;
    if (p.op == 0u) {
        y = x * p.s;
        if (p.round != 0u) {
            y = f16r(y);
        }
    } else {
        y = tanh(x * (1.0 / p.s)) * p.s;
    }
    X[p.x_off + i] = y;
}
