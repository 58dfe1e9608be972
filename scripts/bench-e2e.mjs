#!/usr/bin/env node
// End-to-end benchmark: wasm-chord vs @wllama/wllama (llama.cpp in wasm) in headless Chromium,
// plus native llama.cpp (node-llama-cpp's prebuilt libllama, via scripts/oracle's dump_logits).
//
//   npm run bench:e2e                      # 3 interleaved runs per engine, then native llama.cpp
//   npm run bench:e2e -- --runs 5          # more runs
//   npm run bench:e2e -- --verbose         # + one profiled wasm-chord run: self time per wasm
//                                          #   function per token (V8 sampling profiler over CDP)
//   npm run bench:e2e -- --no-native       # skip native llama.cpp
//   npm run bench:e2e -- --json out.json   # also write every run's raw figures
//   npm run bench:e2e -- --webgpu          # + a wasm-chord column on the WebGPU backend (whatever
//                                          #   adapter Chromium offers; here SwiftShader, a software GPU)
//   npm run bench:e2e -- --baseline DIR    # + a column for another wasm-chord build (a pkg/ directory,
//                                          #   e.g. one built from an earlier commit) and the ratio to it
//   npm run bench:e2e -- --model F.gguf    # another model (any supported architecture)
//   options: --gen 64 --prompt 128 --ctx 512 --wait-load 180 (s, wait for loadavg < 1.2)
//
// Serves the repository on 127.0.0.1 with COOP/COEP (scripts/lib/serve.mjs), launches a fresh
// /usr/bin/chromium (playwright-core) for every engine run (a cold start: new profile, no HTTP or
// code cache), loads the model (default Gemma 3 270M Q4_K_M; `--model PATH` or $WASM_CHORD_MODEL for any
// other supported GGUF) from /models/model.gguf and runs one greedy generation of
// `--gen` tokens after a `--prompt`-token prompt (the same text for every engine; the token counts
// each engine reports are checked). Engines run interleaved (A B C, B C A, C A B, …).
// Peak memory: VmHWM (peak resident set) of the page's renderer process, from /proc — the
// engines' wasm memory, the page's JS heap and a dedicated worker (wllama's) all live there.
// See BENCHMARKS.md ("End to end in Chromium") for the columns and the latest table.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, cpus, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { serve } from './lib/serve.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// --model PATH overrides it (main()).
let MODEL = process.env.WASM_CHORD_MODEL ?? join(homedir(), '.cache', 'wasm-chord', 'models', 'gemma-3-270m-q4_k_m.gguf');
const CHORD_WASM = join(ROOT, 'pkg', 'wasm_chord_bg.wasm');
const WLLAMA_DIR = join(ROOT, 'node_modules', '@wllama', 'wllama');
const WLLAMA_WASM = join(WLLAMA_DIR, 'esm', 'wasm', 'wllama.wasm');
const ORACLE = join(ROOT, 'tools', 'oracle');
const DUMP_LOGITS = join(ORACLE, 'build', 'dump_logits');
const LLAMA_LIB = join(ORACLE, 'node_modules', '@node-llama-cpp', 'linux-x64', 'bins', 'linux-x64');

// English prose, cut to exactly --prompt tokens (BOS included) with wasm-chord's tokenizer.
const TEXT = `The history of astronomy is a story of patient observation. Long before telescopes, people
watched the sky and noticed that most stars kept their places while a few wandered among them.
These wanderers, the planets, moved in loops that puzzled early observers for centuries. Careful
records kept in Babylon, Greece, India and China allowed astronomers to predict eclipses and the
positions of the planets with surprising accuracy. In the sixteenth century Copernicus proposed
that the Earth and the other planets travel around the Sun, and Kepler later showed that their
orbits are ellipses rather than circles. Galileo turned a small telescope toward the sky and saw
mountains on the Moon, the phases of Venus and four moons circling Jupiter. Newton explained all of
these motions with a single law of gravitation, and for two hundred years his mechanics described
the heavens with great precision. Today astronomers study light from galaxies billions of years
old, measure the expansion of the universe and search for planets around other stars, but the
method remains the same: look carefully, write down what you see, and test every idea against
the next observation.`.replace(/\s+/g, ' ');

function parseArgs(argv) {
  const a = { runs: 3, gen: 64, prompt: 128, ctx: 512, verbose: false, native: true, json: null, waitLoad: 180, webgpu: false, baseline: null, model: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => { if (i + 1 >= argv.length) throw new Error(`${k} needs a value`); return argv[++i]; };
    if (k === '--runs') a.runs = Math.max(1, Number(next()));
    else if (k === '--gen') a.gen = Number(next());
    else if (k === '--prompt') a.prompt = Number(next());
    else if (k === '--ctx') a.ctx = Number(next());
    else if (k === '--verbose' || k === '-v') a.verbose = true;
    else if (k === '--no-native') a.native = false;
    else if (k === '--webgpu') a.webgpu = true;
    else if (k === '--baseline') a.baseline = next();
    else if (k === '--model') a.model = next();
    else if (k === '--json') a.json = next();
    else if (k === '--wait-load') a.waitLoad = Number(next());
    else if (k === '--help' || k === '-h') { console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 17).join('\n')); process.exit(0); }
    else throw new Error(`unknown argument ${k} (try --help)`);
  }
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const load1 = () => loadavg()[0];

async function waitForQuiet(maxSeconds, threshold = 1.2) {
  const until = Date.now() + maxSeconds * 1000;
  while (load1() >= threshold && Date.now() < until) {
    process.stderr.write(`# load average ${load1().toFixed(2)} ≥ ${threshold}, waiting…\r`);
    await sleep(5000);
  }
  return load1();
}

/** The prompt text: a prefix of TEXT that tokenizes to exactly `n` tokens (BOS included). */
async function makePrompt(n) {
  const { Model } = await import(join(ROOT, 'pkg', 'index.js'));
  const m = await Model.load(readFileSync(MODEL));
  const ids = Array.from(m.tokenize(TEXT));
  if (ids.length < n) throw new Error(`prompt text has only ${ids.length} tokens`);
  const bos = ids[0];
  let text = null;
  for (let k = n; k > n - 8 && !text; k--) {
    const t = m.detokenize(ids.slice(1, k)).replace(/^ /, '');
    if (m.tokenize(t).length === n) text = t;
    else if (m.tokenize(t.trimEnd()).length === n) text = t.trimEnd();
  }
  m.dispose();
  if (!text) throw new Error(`could not cut the prompt to exactly ${n} tokens`);
  return { text, bos };
}

/** Descendant pids of `pid` (via /proc/<pid>/stat's ppid field). */
function descendants(pid) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch { /* gone */ }
  }
  const out = [];
  const stack = [pid];
  while (stack.length) for (const c of children.get(stack.pop()) ?? []) { out.push(c); stack.push(c); }
  return out;
}

/** Peak RSS (VmHWM, bytes) of the largest renderer process under the browser. */
function rendererPeak(browserPid) {
  let best = 0;
  for (const pid of descendants(browserPid)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
      if (m) best = Math.max(best, Number(m[1]) * 1024);
    } catch { /* gone */ }
  }
  return best;
}

function summarizeProfile(profile, nTokens) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const n = byId.get(profile.samples[i]);
    const name = n.callFrame.functionName || `(${n.callFrame.url.split('/').pop() || 'anonymous'})`;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  }
  return { total, perToken: [...self].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, ms: ms / nTokens, share: ms / total })) };
}

/** The browser process launched with `--bench-e2e-tag=<tag>` (playwright's launch() hides its pid). */
function browserPid(tag) {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(`--bench-e2e-tag=${tag}`) && !cmd.includes('--type=')) return Number(d);
    } catch { /* gone */ }
  }
  return null;
}

let launches = 0;
async function runOne(server, engine, opts, { profile = false } = {}) {
  const tag = `${process.pid}-${++launches}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-quic', '--disable-dev-shm-usage', '--enable-unsafe-webgpu', `--bench-e2e-tag=${tag}`],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    let prof = null;
    if (profile) {
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await page.exposeFunction('benchHook', async (phase) => {
        if (phase === 'generate') await cdp.send('Profiler.start');
        else if (phase === 'done') prof = (await cdp.send('Profiler.stop')).profile;
      });
    }
    await page.goto(`${server.url}/scripts/bench/e2e-page.html`);
    if (engine.name === 'blank') {
      await sleep(1000);
      const pid = browserPid(tag);
      return { peakRss: pid ? rendererPeak(pid) : NaN };
    }
    const r = await page.evaluate(async ({ engine, opts, profile }) => {
      const m = await import('/scripts/bench/e2e-engines.mjs');
      const env = { isolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency, ua: navigator.userAgent, webgpu: await m.webgpuAdapter() };
      const hook = profile ? self.benchHook : undefined;
      const res = engine.name === 'wasm-chord' ? await m.runChord({ ...opts, hook, backend: engine.backend ?? 'cpu', pkg: engine.pkg, cache: engine.cache }) : await m.runWllama({ ...opts, threads: engine.threads });
      return { ...res, env };
    }, { engine, opts, profile });
    const pid = browserPid(tag);
    r.peakRss = pid ? rendererPeak(pid) : NaN;
    r.errors = errors;
    if (prof) r.profile = summarizeProfile(prof, r.nGen - 1);
    return r;
  } finally {
    await browser.close();
  }
}

async function nativeBench(opts) {
  if (!existsSync(DUMP_LOGITS) || !existsSync(LLAMA_LIB)) {
    return { error: `${DUMP_LOGITS} missing: run \`(cd tools/oracle && npm ci --ignore-scripts) && node scripts/oracle/model-fixtures.mjs --only synthetic\` once (it builds dump_logits)` };
  }
  const out = {};
  for (const t of [1, 2].filter((t) => t <= cpus().length)) {
    const s = execFileSync(DUMP_LOGITS, ['bench', LLAMA_LIB, MODEL, String(opts.prompt), String(opts.gen), String(t), String(opts.runs)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [, np, ng, nt, pp, tg] = s.trim().split(/\s+/);
    out[t] = { promptTokens: Number(np), nGen: Number(ng), threads: Number(nt), prefill_tps: Number(pp), decode_tps: Number(tg) };
  }
  try {
    const { llamaCppInfo } = await import('./oracle/llama_src.mjs');
    out.version = llamaCppInfo();
  } catch { out.version = 'node-llama-cpp (tools/oracle)'; }
  return out;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const MiB = 1024 * 1024;

function wasmSizes(file) {
  if (!existsSync(file)) return null;
  const b = readFileSync(file);
  return { raw: b.length, gzip: gzipSync(b, { level: 9 }).length };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.model) MODEL = opts.model;
  if (!existsSync(join(ROOT, 'pkg', 'index.js'))) throw new Error('pkg/ is not built: run `npm run build` first');
  if (!existsSync(MODEL)) throw new Error(`model missing at ${MODEL}: run \`npm run fetch-model\``);
  if (!existsSync(WLLAMA_WASM)) throw new Error('@wllama/wllama is not installed: run `npm ci`');
  const wllamaVersion = JSON.parse(readFileSync(join(WLLAMA_DIR, 'package.json'), 'utf8')).version;
  const chordVersion = JSON.parse(readFileSync(join(ROOT, 'pkg', 'package.json'), 'utf8')).version;

  // wasm-chord yields through an unref'd MessageChannel: keep Node alive while it loads.
  const keepAlive = setInterval(() => {}, 1000);
  const { text: prompt } = await makePrompt(opts.prompt);
  clearInterval(keepAlive);
  if (opts.verbose) console.error(`# prompt (${opts.prompt} tokens): ${JSON.stringify(prompt)}`);
  const server = await serve({
    mounts: { '/': ROOT, '/models/model.gguf': MODEL, ...(opts.baseline ? { '/baseline': opts.baseline } : {}) },
    routes: { '/favicon.ico': (req, res) => { res.writeHead(204); res.end(); } },
  });
  const engines = [{ key: 'chord1', name: 'wasm-chord', threads: 1 }, { key: 'wllama1', name: 'wllama', threads: 1 }];
  if (cpus().length >= 2) engines.push({ key: 'wllama2', name: 'wllama', threads: 2 });
  engines.push({ key: 'chordcache', name: 'wasm-chord', threads: 1, cache: true, label: 'wasm-chord 1t, from cache' });
  if (opts.webgpu) engines.push({ key: 'chordgpu', name: 'wasm-chord', threads: 1, backend: 'webgpu' });
  if (opts.baseline) {
    if (!existsSync(join(opts.baseline, 'index.js'))) throw new Error(`--baseline ${opts.baseline}: no index.js there (a built pkg/ directory)`);
    engines.push({ key: 'chordbase', name: 'wasm-chord', threads: 1, pkg: '/baseline', label: 'wasm-chord baseline 1t' });
  }
  const eopts = { modelUrl: '/models/model.gguf', prompt, nGen: opts.gen, nCtx: opts.ctx };
  const results = Object.fromEntries(engines.map((e) => [e.key, []]));
  const failed = {};
  const loads = [];
  let env = null;
  const loadStart = await waitForQuiet(opts.waitLoad);
  console.error(`# load average ${loadStart.toFixed(2)} at start; ${opts.runs} runs × ${engines.length} engines, prompt ${opts.prompt} tokens, ${opts.gen} greedy tokens`);
  let blankRss = NaN;
  try {
    blankRss = (await runOne(server, { name: 'blank' }, eopts)).peakRss;
    for (let run = 0; run < opts.runs; run++) {
      for (let j = 0; j < engines.length; j++) {
        const e = engines[(run + j) % engines.length];
        if (failed[e.key]) continue;
        const before = load1();
        let r;
        try {
          r = await runOne(server, e, eopts);
        } catch (err) {
          // A peer that cannot run this model is reported, not fatal; ours failing is.
          if (e.name === 'wasm-chord') throw err;
          failed[e.key] = String(err.message ?? err).split('\n')[0];
          console.error(`# run ${run + 1} ${e.name} ${e.threads}t failed: ${failed[e.key]}`);
          continue;
        }
        r.loadavg = [before, load1()];
        loads.push(before, load1());
        env ??= r.env;
        delete r.env;
        results[e.key].push(r);
        console.error(`# run ${run + 1} ${e.name} ${e.threads}t${r.multithread === false && e.threads > 1 ? ' (NOT multithreaded!)' : ''}: load ${r.load_ms.toFixed(0)} ms, ttft ${r.ttft_ms.toFixed(0)} ms, ` +
          `prefill ${r.prefill_tps?.toFixed(1)} tok/s (${r.promptTokens} tokens), decode ${r.decode_tps.toFixed(1)} tok/s ` +
          `(engine ${r.engine_decode_tps?.toFixed(1)}; ${r.nGen} tokens), peak RSS ${(r.peakRss / MiB).toFixed(0)} MiB, load avg ${before.toFixed(2)}` +
          (r.errors.length ? `; errors: ${r.errors.join(' | ')}` : ''));
      }
    }
    if (opts.verbose) {
      console.error('# profiling one more wasm-chord run (not in the table)…');
      const r = await runOne(server, engines[0], eopts, { profile: true });
      results.profile = r;
    }
  } finally {
    await server.close();
  }
  let native = null;
  if (opts.native) {
    console.error('# native llama.cpp (dump_logits bench, best of --runs after a warm-up)…');
    native = await nativeBench(opts);
  }
  const loadEnd = load1();

  // Checks: same prompt length everywhere, greedy tokens generated.
  const warnings = [];
  for (const e of engines) for (const r of results[e.key]) {
    if (r.promptTokens !== opts.prompt) warnings.push(`${e.key}: prompt has ${r.promptTokens} tokens, not ${opts.prompt}`);
    if (r.nGen !== opts.gen) warnings.push(`${e.key}: generated ${r.nGen} tokens, not ${opts.gen}`);
  }
  if (native?.[1] && native[1].promptTokens !== opts.prompt) warnings.push(`native: ${native[1].promptTokens} prompt tokens`);
  const chordText = results.chord1[0]?.text, wlText = results.wllama1[0]?.text;

  // The table.
  const stat = (key, f) => { const xs = results[key].map(f).filter((x) => Number.isFinite(x)); return xs.length ? { med: median(xs), min: Math.min(...xs), max: Math.max(...xs) } : null; };
  const rows = [
    ['load → ready (ms)', (r) => r.load_ms, 0, 'lower'],
    ['first load, writing the cache (ms)', (r) => r.load_store_ms, 0, 'lower'],
    ['time to first token (ms)', (r) => r.ttft_ms, 0, 'lower'],
    [`prefill tok/s (${opts.prompt}-token prompt)`, (r) => r.prefill_tps, 1, 'higher'],
    [`decode tok/s (${opts.gen} greedy tokens)`, (r) => r.decode_tps, 1, 'higher'],
    ['peak renderer RSS (MiB)', (r) => r.peakRss / MiB, 0, 'lower'],
  ];
  const fmt = (s, d) => s ? `${s.med.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})` : 'n/a';
  const cols = engines.map((e) => e.label ?? (e.backend === 'webgpu' ? `${e.name} WebGPU` : `${e.name} ${e.threads}t`));
  const header = ['', ...cols, ...(native ? ['native llama.cpp 1t'] : []), 'wasm-chord / wllama 1t', ...(results.wllama2 ? ['wasm-chord / wllama 2t'] : [])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => i ? '---:' : '---').join('|')}|`];
  const ratios = {};
  for (const [label, f, d] of rows) {
    const cells = engines.map((e) => fmt(stat(e.key, f), d));
    if (native) {
      const n = native[1];
      cells.push(label.startsWith('prefill') ? (n?.prefill_tps?.toFixed(1) ?? 'n/a') : label.startsWith('decode') ? (n?.decode_tps?.toFixed(1) ?? 'n/a') : '—');
    }
    const c = stat('chord1', f);
    for (const k of ['wllama1', 'wllama2'].filter((k) => results[k])) {
      const w = stat(k, f);
      const ratio = c && w ? c.med / w.med : NaN;
      ratios[`${label}|${k}`] = ratio;
      cells.push(Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a');
    }
    lines.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  const cs = wasmSizes(CHORD_WASM), ws = wasmSizes(WLLAMA_WASM);
  const sz = (s) => s ? `${(s.raw / 1e6).toFixed(2)} MB / ${(s.gzip / 1e6).toFixed(2)} MB` : 'n/a';
  const sizeCells = [sz(cs), sz(ws)];
  if (results.wllama2) sizeCells.push('(same file)');
  if (native) sizeCells.push('—');
  sizeCells.push(cs && ws ? `${(cs.raw / ws.raw).toFixed(2)}× / ${(cs.gzip / ws.gzip).toFixed(2)}×` : 'n/a');
  if (results.wllama2) sizeCells.push('');
  lines.push(`| .wasm size, raw / gzip -9 | ${sizeCells.join(' | ')} |`);

  const fileMiB = statSync(MODEL).size / MiB;
  const wasmMem = stat('chord1', (r) => r.wasmMem / MiB);
  const out = [];
  out.push(`wasm-chord ${chordVersion} vs @wllama/wllama ${wllamaVersion} (libllama ${results.wllama1[0]?.version})${native?.version ? ` and native ${native.version}` : ''}`);
  out.push(`model ${MODEL.split('/').pop()} (${results.chord1[0]?.architecture ?? '?'}, ${fileMiB.toFixed(1)} MiB), context ${opts.ctx}, prompt ${opts.prompt} tokens, ${opts.gen} greedy tokens (EOS ignored), ${opts.runs} interleaved cold runs per engine; median (min–max)`);
  out.push(`browser: ${env?.ua} — crossOriginIsolated ${env?.isolated}, hardwareConcurrency ${env?.cores}, WebGPU adapter: ${env?.webgpu ?? 'none'}${opts.webgpu ? ` (wasm-chord WebGPU column: ${results.chordgpu[0]?.backendReason ?? '?'})` : ' (wasm-chord WebGPU column: run with --webgpu)'}`);
  out.push(`CPU: ${cpus()[0].model} × ${cpus().length}; load average (1 min) ${loadStart.toFixed(2)} at start, ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} during the runs, ${loadEnd.toFixed(2)} at the end`);
  out.push('');
  out.push(...lines);
  out.push('');
  if (results.chordbase) {
    const ratio = (f) => { const a = stat('chord1', f), b = stat('chordbase', f); return a && b ? `${(100 * a.med / b.med).toFixed(1)} %` : 'n/a'; };
    out.push(`this build vs --baseline ${opts.baseline} (median / median): prefill ${ratio((r) => r.prefill_tps)}, decode ${ratio((r) => r.decode_tps)}, load ${ratio((r) => r.load_ms)}`);
  }
  if (native?.[1]) out.push(`native llama.cpp (best of ${opts.runs}): 1 thread prefill ${native[1].prefill_tps} / decode ${native[1].decode_tps} tok/s` +
    (native[2] ? `; 2 threads prefill ${native[2].prefill_tps} / decode ${native[2].decode_tps} tok/s` : ''));
  else if (native?.error) out.push(`native llama.cpp: ${native.error}`);
  out.push(`renderer baseline: peak RSS of the same page before any engine is imported ${(blankRss / MiB).toFixed(0)} MiB (included in the peak RSS row)`);
  if (wasmMem) out.push(`wasm-chord WebAssembly.Memory: ${fmt(wasmMem, 0)} MiB`);

  // Against the targets (read, not asserted).
  const cD = stat('chord1', (r) => r.decode_tps), wD = stat('wllama1', (r) => r.decode_tps);
  const cP = stat('chord1', (r) => r.prefill_tps), wP = stat('wllama1', (r) => r.prefill_tps);
  const cL = stat('chord1', (r) => r.load_ms), wL = stat('wllama1', (r) => r.load_ms);
  const cM = stat('chord1', (r) => r.peakRss / MiB);
  // The KV cache the model allocated at this context (model.info.kvCacheBytes).
  const kvMiB = (results.chord1[0]?.kvCacheBytes ?? NaN) / MiB;
  const t = (ok) => ok ? 'met' : 'NOT met';
  out.push('');
  out.push('targets (wasm-chord 1 thread):');
  if (cD && wD) out.push(`  decode ≥ 3× wllama 1t: ${(cD.med / wD.med).toFixed(2)}× — ${t(cD.med / wD.med >= 3)}`);
  if (cD && native?.[1]) out.push(`  decode ≥ 55 % of native llama.cpp 1t: ${(100 * cD.med / native[1].decode_tps).toFixed(0)} % — ${t(cD.med / native[1].decode_tps >= 0.55)}`);
  if (cP && wP) out.push(`  prefill ≥ 5× wllama 1t: ${(cP.med / wP.med).toFixed(2)}× — ${t(cP.med / wP.med >= 5)}`);
  if (cL && wL) out.push(`  load-to-ready ≤ 0.5× wllama 1t: ${(cL.med / wL.med).toFixed(2)}× — ${t(cL.med / wL.med <= 0.5)}`);
  if (cM) out.push(`  peak renderer memory (RSS, page baseline included) ≤ file + KV + 200 MiB = ${fileMiB.toFixed(0)} + ${kvMiB.toFixed(0)} (KV cache, ctx ${opts.ctx}) + 200 = ${(fileMiB + kvMiB + 200).toFixed(0)} MiB: ${cM.med.toFixed(0)} MiB — ${t(cM.med <= fileMiB + kvMiB + 200)} ` +
    `(${(cM.med - blankRss / MiB).toFixed(0)} MiB above the blank page's ${(blankRss / MiB).toFixed(0)} MiB)`);
  if (chordText !== undefined) out.push(`first 80 chars generated — wasm-chord: ${JSON.stringify(chordText)}; wllama: ${JSON.stringify(wlText)}`);
  for (const [k, msg] of Object.entries(failed)) out.push(`${k}: failed on this model (${msg}); its columns are n/a`);
  for (const w of [...new Set(warnings)]) out.push(`WARNING: ${w}`);

  if (results.profile?.profile) {
    const p = results.profile;
    out.push('');
    out.push(`verbose: wasm-chord decode, self time per generated token by wasm/JS function (V8 sampling profiler at 200 µs over ` +
      `tokens 2…${p.nGen}; decode ${p.decode_tps.toFixed(1)} tok/s under the profiler)`);
    out.push(`  decode ${(1e3 / p.decode_tps).toFixed(2)} ms/token; prefill ${(1e3 / p.prefill_tps).toFixed(2)} ms/token`);
    out.push('  | function | ms / token | share |');
    out.push('  |---|---:|---:|');
    for (const f of p.profile.perToken.slice(0, 20)) out.push(`  | ${f.name} | ${f.ms.toFixed(3)} | ${(100 * f.share).toFixed(1)} % |`);
  }
  console.log(out.join('\n'));
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ opts, env, native, blankRss, results, sizes: { chord: cs, wllama: ws }, loadStart, loadEnd }, null, 1));
}

main().catch((e) => { console.error(e.stack ?? e); process.exit(1); });
