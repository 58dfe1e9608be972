// Attention output O[(t · n_head + h) · head_dim_v + d] = Σ_j P(t, h, j) · v(j, h / group)[d],
// one thread per pair of dimensions (the f16 cache packs pairs), (pair, h, t) grid. Masked
// positions have probability 0 and are skipped.
struct Params {
    n_kv: u32,
    n_head: u32,
    group: u32,
    head_dim_v: u32,
    p0: u32,
    window: u32,
    o_off: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> VC: array<u32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let h = gid.y;
    let t = gid.z;
    let pairs = p.head_dim_v / 2u;
    if (i >= pairs) {
        return;
    }
    let pos = p.p0 + t;
    var first = 0u;
    if (p.window != 0u && pos + 1u > p.window) {
        first = pos + 1u - p.window;
    }
    let last = min(pos, p.n_kv - 1u);
    let kv_heads = p.n_head / p.group;
    let sb = (t * p.n_head + h) * p.n_kv;
    var acc = vec2<f32>(0.0, 0.0);
    for (var j = first; j <= last; j++) {
        let v = unpack2x16float(VC[(j * kv_heads + h / p.group) * pairs + i]);
        acc += S[sb + j] * v;
    }
    let o = p.o_off + (t * p.n_head + h) * p.head_dim_v + 2u * i;
    O[o] = acc.x;
    O[o + 1u] = acc.y;
}
