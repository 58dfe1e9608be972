// Dequantizes rows of a weight tensor to f32: one thread per 8-weight unit. Used by the
// tests to check each type's decoder bit-for-bit against the CPU reference.
struct Params {
    rows: u32,
    cols: u32,
    row_bytes: u32,
    w_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let units = p.cols / 8u;
    let u = gid.x + gid.y * nwg.x * 64u;
    if (u >= p.rows * units) {
        return;
    }
    let r = u / units;
    let k = u % units;
    let upb = BLOCK_ELEMS / 8u;
    let d = dq8(p.w_off + r * p.row_bytes + (k / upb) * BLOCK_BYTES, k % upb);
    let o = r * p.cols + k * 8u;
    Y[o] = d.lo.x; Y[o + 1u] = d.lo.y; Y[o + 2u] = d.lo.z; Y[o + 3u] = d.lo.w;
    Y[o + 4u] = d.hi.x; Y[o + 5u] = d.hi.y; Y[o + 6u] = d.hi.z; Y[o + 7u] = d.hi.w;
}
