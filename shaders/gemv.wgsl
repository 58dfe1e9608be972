// y = W·x for decode: each workgroup computes RPW = 64 / TPR rows; the TPR threads of a row
// split its 8-weight units and meet in a shared-memory tree. TPR (a power of two ≤ 64) is
// prepended by the host, chosen from the row length so short rows (640 = 80 units) do not
// leave most threads idle. `n` activation rows are the z dimension (prefill chunks of ≤ 4
// tokens; longer ones use the tiled GEMM). With Q8_1_SUMS = 1 (Q4_1/Q5_1 weights, activations
// from act_quant) a block is q·d · x plus its min times the activation block's Q8_1 sum
// X[s_off + ..], as ggml's dot computes it.
struct Params {
    rows: u32,      // rows of this part of W
    cols: u32,
    row_bytes: u32,
    w_off: u32,     // byte offset of the part's first row in W
    x_off: u32,     // element offset of x's first row
    x_stride: u32,  // elements between activation rows
    y_off: u32,     // element offset of y's first row, part offset included
    y_stride: u32,  // elements between output rows
    s_off: u32,     // element offset of the activation blocks' Q8_1 sums (Q8_1_SUMS only)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

const WG: u32 = 64u;
const RPW: u32 = WG / TPR;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = (wg.x + wg.y * nwg.x) * RPW + lid / TPR;
    let t = lid % TPR;
    let xb = p.x_off + wg.z * p.x_stride;
    var acc = 0.0;
    if (r < p.rows) {
        let units = p.cols / 8u;
        let upb = BLOCK_ELEMS / 8u;
        let base = p.w_off + r * p.row_bytes;
        for (var u = t; u < units; u += TPR) {
            let blk = base + (u / upb) * BLOCK_BYTES;
            let xi = xb + u * 8u;
            let x0 = vec4<f32>(X[xi], X[xi + 1u], X[xi + 2u], X[xi + 3u]);
            let x1 = vec4<f32>(X[xi + 4u], X[xi + 5u], X[xi + 6u], X[xi + 7u]);
            if (Q8_1_SUMS == 1u) {
                let d = dq8_scaled(blk, u % upb);
                acc += dot(d.lo, x0) + dot(d.hi, x1);
                if (u % upb == 0u) {
                    acc += block_min(blk) * X[p.s_off + xb / BLOCK_ELEMS + u / upb];
                }
            } else {
                let d = dq8(blk, u % upb);
                acc += dot(d.lo, x0) + dot(d.hi, x1);
            }
        }
    }
    // One thread per row (the software-adapter variant): no reduction, no barrier.
    if (TPR == 1u) {
        if (r < p.rows) {
            Y[p.y_off + wg.z * p.y_stride + r] = acc;
        }
        return;
    }
    red[lid] = acc;
    workgroupBarrier();
    for (var s = TPR / 2u; s > 0u; s >>= 1u) {
        if (t < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    if (t == 0u && r < p.rows) {
        Y[p.y_off + wg.z * p.y_stride + r] = red[lid];
    }
}
