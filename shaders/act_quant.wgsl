// Rounds activations exactly as the CPU path quantizes them before a quantized matmul (and as
// llama.cpp's CPU backend does), then stores the dequantized values, so the GPU's f32 GEMV/GEMM
// sees the same inputs as the CPU's integer dot products. One thread per block of `n` values
// from X[x_off..] into Y[0..]:
//   KIND 0 (Q8_0, 32 values): d = amax / 127 stored as f16, q = round(x / d) half away from 0;
//          also ggml's Q8_1 block sum s = f16(Σq · d) (d unrounded) into Y[s_off + block], which
//          the Q4_1/Q5_1 kernels multiply by the weight block's min, as ggml's dot does;
//   KIND 1 (Q8_K, 256 values): iscale = -127 / max (the signed largest), q = round-half-even
//          (iscale · x) clamped to [-128, 127], d = 1 / iscale.
struct Params {
    blocks: u32,
    x_off: u32,
    kind: u32,
    s_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

fn round_away(v: f32) -> f32 {
    let t = trunc(v);
    if (abs(v - t) >= 0.5) {
        return t + sign(v);
    }
    return t;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let blk = gid.x + gid.y * nwg.x * 64u;
    if (blk >= p.blocks) {
        return;
    }
    if (p.kind == 0u) {
        let b = blk * 32u;
        var amax = 0.0;
        for (var i = 0u; i < 32u; i++) {
            amax = max(amax, abs(X[p.x_off + b + i]));
        }
        let d = amax / 127.0;
        var id = 0.0;
        if (d != 0.0) {
            id = 1.0 / d;
        }
        let dh = f16r(d);
        var qsum = 0.0;
        for (var i = 0u; i < 32u; i++) {
            let q = clamp(round_away(X[p.x_off + b + i] * id), -128.0, 127.0);
            Y[b + i] = dh * q;
            qsum += q;
        }
        Y[p.s_off + blk] = f16r(qsum * d);
    } else {
        let b = blk * 256u;
        var amax = 0.0;
        var mx = 0.0;
        for (var i = 0u; i < 256u; i++) {
            let v = X[p.x_off + b + i];
            if (amax < abs(v)) {
                amax = abs(v);
                mx = v;
            }
        }
        if (amax == 0.0) {
            for (var i = 0u; i < 256u; i++) {
                Y[b + i] = 0.0;
            }
            return;
        }
        let iscale = -127.0 / mx;
        let d = 1.0 / iscale;
        for (var i = 0u; i < 256u; i++) {
            let q = clamp(round(iscale * X[p.x_off + b + i]), -128.0, 127.0);
            Y[b + i] = d * q;
        }
    }
}
