// RMS norm of `rows` rows of `dim` values, times the weights N[w_off..]: one workgroup per
// row. How the result is stored (MODE) is chosen by the host:
//   0: Y = norm(X)        (attention / FFN input norms)
//   1: X = norm(X)        (Gemma's per-head query and key norms)
//   2: Y += norm(X)       (Gemma's post-norms fused with the residual add)
struct Params {
    rows: u32,
    dim: u32,
    x_off: u32,
    x_stride: u32,
    y_off: u32,
    y_stride: u32,
    w_off: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> N: array<f32>;
@group(0) @binding(2) var<storage, read_write> X: array<f32>;
#if_y

var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = wg.x + wg.y * nwg.x;
    // Uniform per workgroup, so the barriers below stay in uniform control flow.
    let live = r < p.rows;
    let xb = p.x_off + r * p.x_stride;
    var ss = 0.0;
    if (live) {
        for (var i = lid; i < p.dim; i += 64u) {
            let v = X[xb + i];
            ss += v * v;
        }
    }
    red[lid] = ss;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    let scale = 1.0 / sqrt(red[0] / f32(p.dim) + p.eps);
    if (!live) {
        return;
    }
    let yb = p.y_off + r * p.y_stride;
    for (var i = lid; i < p.dim; i += 64u) {
        let v = (X[xb + i] * scale) * N[p.w_off + i];
        store(yb + i, xb + i, v);
    }
}
