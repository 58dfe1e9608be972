// Appends n tokens' keys and values to a layer's f16 cache (pairs packed in u32, as
// llama.cpp's default f16 cache rounds them): slot p0 + t.
struct Params {
    n: u32,
    k_pairs: u32,   // k_dim / 2
    v_pairs: u32,   // v_dim / 2
    p0: u32,
    k_off: u32,     // element offsets of the first token in K and V
    v_off: u32,
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read_write> KC: array<u32>;
@group(0) @binding(4) var<storage, read_write> VC: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 64u;
    let per = p.k_pairs + p.v_pairs;
    if (j >= p.n * per) {
        return;
    }
    let t = j / per;
    let i = j % per;
    if (i < p.k_pairs) {
        let s = p.k_off + t * 2u * p.k_pairs + 2u * i;
        KC[(p.p0 + t) * p.k_pairs + i] = f16_pack(K[s], K[s + 1u]);
    } else {
        let i2 = i - p.k_pairs;
        let s = p.v_off + t * 2u * p.v_pairs + 2u * i2;
        VC[(p.p0 + t) * p.v_pairs + i2] = f16_pack(V[s], V[s + 1u]);
    }
}
