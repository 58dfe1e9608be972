// Greedy sampling, stage 2: one workgroup reduces the `groups` (value, index) pairs of stage
// 1 and stores the winning index in R[slot] (0xffffffff when every value was NaN).
struct Params {
    groups: u32,
    slot: u32,
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> P: array<u32>;
@group(0) @binding(2) var<storage, read_write> R: array<u32>;

var<workgroup> bv: array<f32, 256>;
var<workgroup> bi: array<u32, 256>;

fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
    return v > w || (v == w && i < j);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var v = -3.4e38;
    var idx = 0xffffffffu;
    for (var g = lid; g < p.groups; g += 256u) {
        let x = bitcast<f32>(P[2u * g]);
        let i = P[2u * g + 1u];
        if (i != 0xffffffffu && (idx == 0xffffffffu || better(x, i, v, idx))) {
            v = x;
            idx = i;
        }
    }
    bv[lid] = v;
    bi[lid] = idx;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            let j = bi[lid + s];
            if (j != 0xffffffffu && (bi[lid] == 0xffffffffu || better(bv[lid + s], j, bv[lid], bi[lid]))) {
                bv[lid] = bv[lid + s];
                bi[lid] = j;
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        R[p.slot] = bi[0];
    }
}
