// Rotary position embedding in place on `rows = n · heads` head vectors of X, with the
// cos/sin of each (token, pair) from the host's table C (the CPU computes it exactly as the
// CPU path does, so both rotate by the same angles). NEOX pairs (i, i + n_rot/2); otherwise
// adjacent pairs (2i, 2i + 1).
struct Params {
    rows: u32,
    heads: u32,
    head_dim: u32,
    half: u32,      // n_rot / 2
    neox: u32,
    x_off: u32,
    cos_off: u32,   // C[cos_off + t · half + i]
    sin_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> C: array<f32>;
@group(0) @binding(2) var<storage, read_write> X: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 64u;
    if (j >= p.rows * p.half) {
        return;
    }
    let row = j / p.half;
    let i = j % p.half;
    let t = row / p.heads;
    let c = C[p.cos_off + t * p.half + i];
    let s = C[p.sin_off + t * p.half + i];
    let b = p.x_off + row * p.head_dim;
    var a = b + 2u * i;
    var z = a + 1u;
    if (p.neox != 0u) {
        a = b + i;
        z = b + i + p.half;
    }
    let x0 = X[a];
    let x1 = X[z];
    X[a] = x0 * c - x1 * s;
    X[z] = x0 * s + x1 * c;
}
