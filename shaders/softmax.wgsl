// Softmax in place over each row of `len` scores: one workgroup per row.
struct Params {
    rows: u32,
    len: u32,
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> S: array<f32>;

var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = wg.x + wg.y * nwg.x;
    let live = r < p.rows;
    let b = r * p.len;
    var m = -3.0e38;
    if (live) {
        for (var i = lid; i < p.len; i += 64u) {
            m = max(m, S[b + i]);
        }
    }
    red[lid] = m;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] = max(red[lid], red[lid + s]);
        }
        workgroupBarrier();
    }
    m = red[0];
    workgroupBarrier();
    var sum = 0.0;
    if (live) {
        for (var i = lid; i < p.len; i += 64u) {
            let e = exp(S[b + i] - m);
            S[b + i] = e;
            sum += e;
        }
    }
    red[lid] = sum;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    let inv = 1.0 / red[0];
    if (live) {
        for (var i = lid; i < p.len; i += 64u) {
            S[b + i] *= inv;
        }
    }
}
