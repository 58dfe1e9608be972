// Gated FFN activation in place: G[off + i] = act(G[off + i]) · U[off + i] for n values.
//   ACT 0: GELU-tanh as ggml's CPU backend computes it — input and result rounded to f16
//          (its lookup table), the formula in f32; exact outside ±10.
//   ACT 1: SiLU in f32.
struct Params {
    n: u32,
    act: u32,
    off: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> U: array<f32>;
@group(0) @binding(2) var<storage, read_write> G: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= p.n) {
        return;
    }
    let x = G[p.off + i];
    let u = U[p.off + i];
    var y: f32;
    if (p.act == 0u) {
        if (x <= -10.0) {
            y = 0.0;
        } else if (x >= 10.0) {
            y = x * u;
        } else {
            let h = f16r(x);
            let g = 0.5 * h * (1.0 + tanh(0.7978846 * h * (1.0 + 0.044715 * h * h)));
            y = f16r(g) * u;
        }
    } else {
        y = x / (1.0 + exp(-x)) * u;
    }
    G[p.off + i] = y;
}
