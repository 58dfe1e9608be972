// Greedy sampling, stage 1: each workgroup finds the largest of its CHUNK values of X and
// its index (ties: the lowest index, as the CPU sampler; NaN never wins) and stores the pair
// in P[2g], P[2g + 1]. Uses best.wgsl.
const CHUNK: u32 = 4096u;

struct Params {
    n: u32,
    x_off: u32,
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> P: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let start = wg.x * CHUNK;
    let end = min(start + CHUNK, p.n);
    var v = -3.4e38;
    var idx = NONE;
    for (var i = start + lid; i < end; i += 256u) {
        let x = X[p.x_off + i];
        // x == x is false only for NaN.
        if (x == x && beats(x, i, v, idx)) {
            v = x;
            idx = i;
        }
    }
    reduce_best(lid, v, idx);
    if (lid == 0u) {
        P[2u * wg.x] = bitcast<u32>(bv[0]);
        P[2u * wg.x + 1u] = bi[0];
    }
}
