// Embedding lookup straight from the (quantized) table: row `T[t]` of W, times `scale`, into
// row t of Y. One thread per 8-weight unit; a split table is looked up part by part, each
// dispatch writing only the tokens whose rows it holds.
struct Params {
    n: u32,
    cols: u32,
    row_bytes: u32,
    row0: u32,      // first table row held by this part
    rows: u32,      // rows held by this part
    scale: f32,
    y_off: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> T: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let units = p.cols / 8u;
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= p.n * units) {
        return;
    }
    let t = i / units;
    let u = i % units;
    let tok = T[t];
    if (tok < p.row0 || tok >= p.row0 + p.rows) {
        return;
    }
    let upb = BLOCK_ELEMS / 8u;
    let d = dq8((tok - p.row0) * p.row_bytes + (u / upb) * BLOCK_BYTES, u % upb);
    let lo = d.lo * p.scale;
    let hi = d.hi * p.scale;
    let o = p.y_off + t * p.cols + u * 8u;
    Y[o] = lo.x; Y[o + 1u] = lo.y; Y[o + 2u] = lo.z; Y[o + 3u] = lo.w;
    Y[o + 4u] = hi.x; Y[o + 5u] = hi.y; Y[o + 6u] = hi.z; Y[o + 7u] = hi.w;
}
