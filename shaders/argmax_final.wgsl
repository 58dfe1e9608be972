// Greedy sampling, stage 2: one workgroup reduces the `groups` (value, index) pairs of stage
// 1 and stores the winning index in R[slot] (NONE when every value was NaN). Uses best.wgsl.
struct Params {
    groups: u32,
    slot: u32,
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> P: array<u32>;
@group(0) @binding(2) var<storage, read_write> R: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var v = -3.4e38;
    var idx = NONE;
    for (var g = lid; g < p.groups; g += 256u) {
        let x = bitcast<f32>(P[2u * g]);
        let i = P[2u * g + 1u];
        if (beats(x, i, v, idx)) {
            v = x;
            idx = i;
        }
    }
    reduce_best(lid, v, idx);
    if (lid == 0u) {
        R[p.slot] = bi[0];
    }
}
