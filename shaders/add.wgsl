// Residual add: Y[y_off + i] += X[x_off + i] for n values; with a period (a bias added to
// every row) Y[y_off + i] += X[x_off + i % period].
struct Params {
    n: u32,
    x_off: u32,
    y_off: u32,
    period: u32,    // 0: none
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i < p.n) {
        let j = select(i, i % p.period, p.period != 0u);
        Y[p.y_off + i] += X[p.x_off + j];
    }
}
