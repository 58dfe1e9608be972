// The kernel benchmark cases and the measuring loop, shared by Node and the browser page
// (scripts/bench-kernels.mjs). `wasm` is the wasm-bindgen module built with `--features bench`.

// Gemma 3 270M Q4_K_M: [type, cols (K, inputs), rows (N, outputs), tensor]
export const GEMMA = [
  ['Q5_0', 640, 1024, 'attn_q'],
  ['Q5_0', 640, 256, 'attn_k'],
  ['Q8_0', 640, 256, 'attn_v'],
  ['Q5_0', 640, 2048, 'ffn_gate, ffn_up'],
  ['Q4_K', 2048, 640, 'ffn_down'],
  ['Q6_K', 2048, 640, 'ffn_down'],
  ['Q4_K', 1024, 640, 'attn_output'],
  ['Q8_0', 640, 262144, 'output head'],
];
export const WIDE_TYPES = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'F16', 'F32'];
export const GEMM_N = [32, 128];

const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '–');

// Best time per call (ms) of fn(iters): batches are calibrated to ≥ 50 ms each, so the
// coarsened browser clock (performance.now() is quantized and jittered without cross-origin
// isolation) costs < 2 %; at least `samples` batches and `minMs` in total.
function measure(now, fn, { minMs = 300, samples = 3, maxIters = 1 << 20 } = {}) {
  fn(1); // warm-up (and compiles the tier-up code)
  let iters = 1;
  for (;;) {
    const t0 = now();
    fn(iters);
    const dt = now() - t0;
    if (dt >= 50 || iters >= maxIters) break;
    iters = dt > 0 ? Math.max(iters * 2, Math.ceil((iters * 60) / dt)) : iters * 8;
  }
  let best = Infinity;
  let total = 0;
  let count = 0;
  while (count < samples || total < minMs) {
    const t0 = now();
    fn(iters);
    const dt = now() - t0;
    best = Math.min(best, dt / iters);
    total += dt;
    count += 1;
    if (count >= 50) break;
  }
  return best;
}

export const HEADER = [
  '| shape (K→N) | type | n | tensor | weight MB | stream GB/s | kernel GB/s | % of stream | GFLOP/s | scalar GB/s | speed-up | max rel diff |',
  '|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
];

export function benchCase(wasm, now, [type, cols, rows, label], n, opts = {}) {
  const b = new wasm.KernelBench(type, rows, cols, n);
  try {
    const bytes = b.weight_bytes();
    const macs = b.macs();
    // Other processes only ever make a run slower, so with `rounds` > 1 each figure is the
    // best over the rounds (interleaved, so a busy moment hits all three alike).
    let [tStream, tSimd, tScalar] = [Infinity, Infinity, Infinity];
    for (let r = 0; r < (opts.rounds ?? 1); r++) {
      tStream = Math.min(tStream, measure(now, (k) => b.stream(k)));
      tSimd = Math.min(tSimd, measure(now, (k) => b.simd(k)));
      // The scalar reference is slow: one or two runs are enough for the big cases.
      tScalar = Math.min(tScalar, measure(now, (k) => b.scalar(k), { minMs: opts.scalarMs ?? 200, samples: 1 }));
    }
    b.simd(1);
    b.scalar(1);
    const diff = b.max_rel_diff();
    const gbs = (t) => bytes / (t * 1e6);
    const row = {
      type, cols, rows, n, label, mb: bytes / 1e6,
      stream: gbs(tStream), kernel: gbs(tSimd), gflops: (2 * macs) / (tSimd * 1e6),
      scalar: gbs(tScalar), speedup: tScalar / tSimd, diff,
    };
    row.line = `| ${cols}→${rows} | ${type} | ${n} | ${label} | ${fmt(row.mb, 2)} | ${fmt(row.stream)} | ${fmt(row.kernel)} | ${n === 1 ? `${fmt((100 * row.kernel) / row.stream, 0)} %` : '–'} | ${fmt(row.gflops)} | ${fmt(row.scalar, 2)} | ${fmt(row.speedup)}× | ${diff.toExponential(1)} |`;
    return row;
  } finally {
    b.free();
  }
}

// Runs every case; `log(line)` receives the markdown table as it grows. `quick` keeps only
// the Gemma GEMVs (for a fast look).
export async function runCases(wasm, { log, now = () => performance.now(), quick = false, rounds = 1 }) {
  const rows = [];
  const run = async (c, n, opts = {}) => {
    const r = benchCase(wasm, now, c, n, { rounds, ...opts });
    rows.push(r);
    await log(r.line);
  };
  await log(`Kernels: ${wasm.kernel_backend()}. Figures: best of ${rounds} round(s) of ≥ 3 batches of ≥ 50 ms each.`);
  await log('');
  await log('Decode GEMV, Gemma 3 270M shapes:');
  for (const l of HEADER) await log(l);
  for (const c of GEMMA) await run(c, 1);
  if (quick) return rows;
  await log('');
  await log('Decode GEMV, 4096×4096, every supported type:');
  for (const l of HEADER) await log(l);
  for (const t of WIDE_TYPES) await run([t, 4096, 4096, '4096²'], 1);
  await log('');
  await log('Prefill GEMM (n activation rows), Gemma shapes:');
  for (const l of HEADER) await log(l);
  for (const n of GEMM_N) {
    for (const c of GEMMA.filter((c) => c[2] !== 262144)) await run(c, n, { scalarMs: 1 });
  }
  return rows;
}
