// The order greedy sampling and top-k use: larger value first, then the lower index (as the
// CPU sampler), shared by the argmax and top-k kernels. NONE marks "no value yet".
const NONE: u32 = 0xffffffffu;

fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
    return v > w || (v == w && i < j);
}

// Whether the candidate (v, i) replaces the incumbent (w, j).
fn beats(v: f32, i: u32, w: f32, j: u32) -> bool {
    return i != NONE && (j == NONE || better(v, i, w, j));
}

var<workgroup> bv: array<f32, 256>;
var<workgroup> bi: array<u32, 256>;

// The best of the 256 threads' (v, idx) pairs, left in bv[0], bi[0]. Call from uniform
// control flow (it has barriers).
fn reduce_best(lid: u32, v: f32, idx: u32) {
    bv[lid] = v;
    bi[lid] = idx;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s && beats(bv[lid + s], bi[lid + s], bv[lid], bi[lid])) {
            bv[lid] = bv[lid + s];
            bi[lid] = bi[lid + s];
        }
        workgroupBarrier();
    }
}
