// Y = W·X for prefill (n > 4 activation rows), register-tiled as ggml-webgpu does: each
// workgroup computes a TM × TN tile (TM weight rows × TN activation rows). K is walked TK
// weights at a time: the workgroup dequantizes its TM × TK weights once into workgroup
// memory (each weight is then reused by TN outputs instead of being decoded per token, which
// is what makes this faster than the GEMV for long prompts) and loads the TN × TK
// activations beside them; each thread then accumulates a 4 × 4 micro-tile from registers.
// TM, TN (multiples of 4) and TK (a multiple of 8) come from the host. f32 throughout: no
// shader-f16, no subgroups. With Q8_1_SUMS = 1 (Q4_1/Q5_1 weights, activations from act_quant,
// TK = one 32-weight block) the tile holds q·d and each output adds, per block, the weight
// row's min times the activation row's Q8_1 sum (X[s_off + ..]), as ggml's dot does.
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
    n: u32,         // activation rows
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

const TX: u32 = TM / 4u;        // threads along the weight rows
const TY: u32 = TN / 4u;        // threads along the activation rows
const WG: u32 = TX * TY;
const KU: u32 = TK / 8u;        // 8-weight units per K step

// K-major, four rows to a vec4, so a thread reads its four weights (or activations) of one
// k with a single load.
var<workgroup> ws: array<vec4<f32>, TK * TM / 4u>;
var<workgroup> xs: array<vec4<f32>, TK * TN / 4u>;
// Q8_1_SUMS: this K step's block min per weight row and block sum per activation row.
var<workgroup> wmin: array<f32, TM>;
var<workgroup> xsum: array<f32, TN>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r0 = (wg.x + wg.y * nwg.x) * TM;
    let n0 = wg.z * TN;
    // Groups past the last row exist only to fill a 2D grid; the whole workgroup leaves
    // together, so no barrier is left waiting.
    if (r0 >= p.rows) {
        return;
    }
    let tx = lid % TX;
    let ty = lid / TX;
    let units = p.cols / 8u;
    let upb = BLOCK_ELEMS / 8u;

    var acc: array<vec4<f32>, 4>;   // acc[j][i]: weight row 4·tx + i, activation row 4·ty + j
    for (var u0 = 0u; u0 < units; u0 += KU) {
        // Weight tile: TM · KU units of eight, decoded once each.
        for (var i = lid; i < TM * KU; i += WG) {
            let r = i / KU;
            let u = u0 + i % KU;
            var d = D8(vec4<f32>(0.0), vec4<f32>(0.0));
            if (r0 + r < p.rows && u < units) {
                let blk = p.w_off + (r0 + r) * p.row_bytes + (u / upb) * BLOCK_BYTES;
                if (Q8_1_SUMS == 1u) {
                    d = dq8_scaled(blk, u % upb);
                    if (i % KU == 0u) {
                        wmin[r] = block_min(blk);
                    }
                } else {
                    d = dq8(blk, u % upb);
                }
            } else if (Q8_1_SUMS == 1u && i % KU == 0u) {
                wmin[r] = 0.0;
            }
            let k = (i % KU) * 8u;
            let c = r / 4u;
            let e = r % 4u;
            ws[(k + 0u) * TX + c][e] = d.lo.x;
            ws[(k + 1u) * TX + c][e] = d.lo.y;
            ws[(k + 2u) * TX + c][e] = d.lo.z;
            ws[(k + 3u) * TX + c][e] = d.lo.w;
            ws[(k + 4u) * TX + c][e] = d.hi.x;
            ws[(k + 5u) * TX + c][e] = d.hi.y;
            ws[(k + 6u) * TX + c][e] = d.hi.z;
            ws[(k + 7u) * TX + c][e] = d.hi.w;
        }
        // Activation tile: consecutive threads read consecutive k of one row.
        for (var i = lid; i < TN * TK; i += WG) {
            let t = i / TK;
            let k = i % TK;
            var v = 0.0;
            if (n0 + t < p.n && u0 * 8u + k < p.cols) {
                v = X[p.x_off + (n0 + t) * p.x_stride + u0 * 8u + k];
            }
            xs[k * TY + t / 4u][t % 4u] = v;
        }
        if (Q8_1_SUMS == 1u) {
            for (var t = lid; t < TN; t += WG) {
                var s = 0.0;
                if (n0 + t < p.n) {
                    s = X[p.s_off + (p.x_off + (n0 + t) * p.x_stride) / BLOCK_ELEMS + u0 / upb];
                }
                xsum[t] = s;
            }
        }
        workgroupBarrier();
        for (var k = 0u; k < TK; k++) {
            let a = ws[k * TX + tx];
            let x = xs[k * TY + ty];
            acc[0] += a * x.x;
            acc[1] += a * x.y;
            acc[2] += a * x.z;
            acc[3] += a * x.w;
        }
        if (Q8_1_SUMS == 1u) {
            let m = vec4<f32>(wmin[4u * tx], wmin[4u * tx + 1u], wmin[4u * tx + 2u], wmin[4u * tx + 3u]);
            for (var j = 0u; j < 4u; j++) {
                acc[j] += m * xsum[4u * ty + j];
            }
        }
        workgroupBarrier();
    }

    for (var j = 0u; j < 4u; j++) {
        let t = n0 + 4u * ty + j;
        if (t >= p.n) {
            break;
        }
        let yb = p.y_off + t * p.y_stride;
        for (var i = 0u; i < 4u; i++) {
            let r = r0 + 4u * tx + i;
            if (r < p.rows) {
                Y[yb + r] = acc[j][i];
            }
        }
    }
}
