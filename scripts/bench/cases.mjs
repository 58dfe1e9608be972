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
// Decode working set: distinct copies of a GEMV's weights until they total at least this many
// bytes (2× the 32 MiB L3 of the machine in BENCHMARKS.md), read one after the other.
export const WS_MIN_BYTES = 64 * 1024 * 1024;

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

export const WS_HEADER = [
  '| shape (K→N) | type | tensor | weight MB | copies | working set MB | stream GB/s | kernel GB/s | % of stream | GFLOP/s | L2-resident kernel GB/s | L2-resident % of stream |',
  '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];

export const FLOOR_HEADER = [
  '| shape (K→N) | type | tensor | bytes / weight | floor GMAC/s | ceiling GB/s | decode-working-set stream GB/s | ceiling % of stream | kernel GB/s (working set) | kernel % of stream |',
  '|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
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
    if (n === 1 && opts.wsBytes) {
      // Decode working set: `copies` distinct copies of the weights, each GEMV (and each
      // streaming read) on the next copy, so every read comes from where decode finds it
      // (L3/DRAM), not from L2. A tensor already larger than the working set (the head) is
      // its own working set: the figures above.
      const copies = Math.max(1, Math.ceil(opts.wsBytes / bytes));
      let [wStream, wSimd] = [tStream, tSimd];
      if (copies > 1) {
        b.set_copies(copies);
        [wStream, wSimd] = [Infinity, Infinity];
        for (let r = 0; r < (opts.rounds ?? 1); r++) {
          wStream = Math.min(wStream, measure(now, (k) => b.stream_ws(k)) / copies);
          wSimd = Math.min(wSimd, measure(now, (k) => b.simd_ws(k)) / copies);
        }
      }
      Object.assign(row, { copies, wsMb: (copies * bytes) / 1e6, wsStream: gbs(wStream), wsKernel: gbs(wSimd) });
      if (opts.floor && copies > 1 && !['F32', 'F16', 'BF16'].includes(type)) {
        // The unpack-free floor (KernelBench.dot_floor), in the same run: its multiply-add
        // rate times this type's bytes per weight is the fastest any i16-lane kernel could
        // read this type's bytes.
        let tFloor = Infinity;
        for (let r = 0; r < (opts.rounds ?? 1); r++) tFloor = Math.min(tFloor, measure(now, (k) => b.dot_floor(k)));
        const gmacs = b.floor_macs() / (tFloor * 1e6);
        const ceiling = gmacs * (bytes / macs);
        row.floorLine = `| ${cols}→${rows} | ${type} | ${label} | ${fmt(bytes / macs, 3)} | ${fmt(gmacs)} | ${fmt(ceiling)} | ${fmt(row.wsStream)} | ${fmt((100 * ceiling) / row.wsStream, 0)} % | ${fmt(row.wsKernel)} | ${fmt((100 * row.wsKernel) / row.wsStream, 0)} % |`;
      }
      row.wsLine = `| ${cols}→${rows} | ${type} | ${label} | ${fmt(row.mb, 2)} | ${copies} | ${fmt(row.wsMb, 0)} | ${fmt(row.wsStream)} | ${fmt(row.wsKernel)} | ${fmt((100 * row.wsKernel) / row.wsStream, 0)} % | ${fmt((2 * macs) / (wSimd * 1e6))} | ${fmt(row.kernel)} | ${fmt((100 * row.kernel) / row.stream, 0)} % |`;
    }
    return row;
  } finally {
    b.free();
  }
}

// Runs every case; `log(line)` receives the markdown tables as they grow. `quick` keeps only
// the Gemma GEMVs (for a fast look), `only` (a list of type names) only those types, `ws`
// (default on) adds the decode-working-set table after each GEMV table.
export async function runCases(wasm, { log, now = () => performance.now(), quick = false, rounds = 1, only = null, ws = true }) {
  const rows = [];
  const keep = (c) => !only || only.includes(c[0]);
  const wsBytes = ws ? WS_MIN_BYTES : 0;
  const run = async (c, n, opts = {}) => {
    const r = benchCase(wasm, now, c, n, { rounds, wsBytes, floor: ws, ...opts });
    rows.push(r);
    await log(r.line);
    return r;
  };
  const gemvTable = async (title, cases) => {
    await log('');
    await log(`${title}, weights L2-resident (one tensor, read again and again):`);
    await log('');
    for (const l of HEADER) await log(l);
    const done = [];
    for (const c of cases.filter(keep)) done.push(await run(c, 1));
    if (!ws) return;
    await log('');
    await log(`${title}, decode working set (distinct copies of the tensor totalling ≥ ${WS_MIN_BYTES / 2 ** 20} MiB, read in turn; stream = the same copies in the same order):`);
    await log('');
    for (const l of WS_HEADER) await log(l);
    for (const r of done) await log(r.wsLine);
    const floors = done.filter((r) => r.floorLine);
    if (!floors.length) return;
    await log('');
    await log(`${title}, against the unpack-free floor (the GEMV's loop over i8 weights with no scales and nothing to unpack: eight multiply-adds per i16x8.load8x8_s + i32x4.dot_i16x8_s; same shape, one matrix read again and again as in the first table); ceiling = floor rate × the type's bytes per weight, what a kernel of this structure would read if unpacking cost nothing:`);
    await log('');
    for (const l of FLOOR_HEADER) await log(l);
    for (const r of floors) await log(r.floorLine);
  };
  await log(`Kernels: ${wasm.kernel_backend()}. Figures: best of ${rounds} round(s) of ≥ 3 batches of ≥ 50 ms each.`);
  await gemvTable('Decode GEMV, Gemma 3 270M shapes', GEMMA);
  if (quick) return rows;
  await gemvTable('Decode GEMV, 4096×4096, every supported type', WIDE_TYPES.map((t) => [t, 4096, 4096, '4096²']));
  await log('');
  await log('Prefill GEMM (n activation rows), Gemma shapes:');
  await log('');
  for (const l of HEADER) await log(l);
  for (const n of GEMM_N) {
    for (const c of GEMMA.filter((c) => c[2] !== 262144).filter(keep)) await run(c, n, { scalarMs: 1 });
  }
  return rows;
}
