// The k largest of n values (k ≤ K_MAX), ordered by value then lowest index — the order the
// CPU sampler uses — as (value bits, index) pairs in R[0..2k], for sampling with top-k without
// reading back every logit. NaN and ±∞ are skipped; missing entries have index 0xffffffff.
// One workgroup: each thread keeps a sorted top-k of its strided share in private memory,
// then k rounds of a workgroup max pick the winners from the threads' list heads. Uses
// best.wgsl's order.
const K_MAX: u32 = 64u;

struct Params {
    n: u32,
    k: u32,
    x_off: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> R: array<u32>;

var<workgroup> hv: array<f32, 256>;
var<workgroup> hi: array<u32, 256>;
var<workgroup> ht: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var lv: array<f32, K_MAX>;
    var li: array<u32, K_MAX>;
    var cnt = 0u;
    let k = min(p.k, K_MAX);
    for (var i = lid; i < p.n; i += 256u) {
        let x = X[p.x_off + i];
        // False for NaN and ±∞ (the bound is f32's largest finite value; Tint rejects its
        // decimal spelling).
        if (!(abs(x) <= bitcast<f32>(0x7f7fffffu))) {
            continue;
        }
        if (cnt == k && !better(x, i, lv[k - 1u], li[k - 1u])) {
            continue;
        }
        var j = min(cnt, k - 1u);
        if (cnt < k) {
            cnt += 1u;
        }
        loop {
            if (j == 0u || !better(x, i, lv[j - 1u], li[j - 1u])) {
                break;
            }
            lv[j] = lv[j - 1u];
            li[j] = li[j - 1u];
            j -= 1u;
        }
        lv[j] = x;
        li[j] = i;
    }
    var head = 0u;
    for (var r = 0u; r < k; r++) {
        if (head < cnt) {
            hv[lid] = lv[head];
            hi[lid] = li[head];
        } else {
            hv[lid] = 0.0;
            hi[lid] = NONE;
        }
        ht[lid] = lid;
        workgroupBarrier();
        for (var s = 128u; s > 0u; s >>= 1u) {
            if (lid < s) {
                let j = hi[lid + s];
                if (beats(hv[lid + s], j, hv[lid], hi[lid])) {
                    hv[lid] = hv[lid + s];
                    hi[lid] = j;
                    ht[lid] = ht[lid + s];
                }
            }
            workgroupBarrier();
        }
        if (lid == 0u) {
            R[2u * r] = bitcast<u32>(hv[0]);
            R[2u * r + 1u] = hi[0];
        }
        if (ht[0] == lid && hi[0] != NONE) {
            head += 1u;
        }
        workgroupBarrier();
    }
}
