// Kernel benchmark (README: `npm run bench:kernels`): builds the wasm with `--features bench`,
// then runs the same cases (scripts/bench/cases.mjs) under Node and in headless Chromium and
// prints markdown tables: weight GB/s, GFLOP/s, the ratio to a plain SIMD128 streaming read
// of the same bytes in the same run, and the speed-up over the scalar reference.
//
// Usage: node scripts/bench-kernels.mjs [--node] [--browser] [--quick] [--relaxed] [--no-build]
//   --node / --browser   run only that runtime (default: both)
//   --quick              only the Gemma decode GEMVs
//   --rounds N           measure every figure N times and keep the best (default 1): on a
//                        shared machine, other processes only ever slow a run down
//   --only T1,T2         only the cases of these weight types (e.g. --only Q5_0,Q4_K)
//   --no-ws              skip the decode-working-set tables (see scripts/bench/cases.mjs)
//   --relaxed            also build with +relaxed-simd (target/relaxed) and run that build in
//                        Chromium (Node 20 needs a flag and its baseline tier miscompiles
//                        relaxed dot products, so it is not run there)
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname, extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runCases } from './bench/cases.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const both = !args.has('--node') && !args.has('--browser');
const quick = args.has('--quick');
const argv = process.argv.slice(2);
const rounds = argv.includes('--rounds') ? Number(argv[argv.indexOf('--rounds') + 1]) || 1 : 1;
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : null;
const ws = !args.has('--no-ws');
const opts = { quick, rounds, only, ws };
const pkg = join(root, 'target', 'bench-pkg');
const pkgRelaxed = join(root, 'target', 'relaxed', 'bench-pkg');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

function build(out, env = {}) {
  const wp = ['build', '--release', '--target', 'web', '--out-dir', out, '--out-name', 'wasm_chord_bench',
    '--mode', 'no-install', '--no-opt', '--features', 'bench'];
  console.error(`bench: ${Object.entries(env).map(([k, v]) => `${k}="${v}" `).join('')}wasm-pack ${wp.join(' ')}`);
  execFileSync('wasm-pack', wp, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
}

if (!args.has('--no-build')) {
  build(pkg);
  if (args.has('--relaxed')) {
    // An environment RUSTFLAGS replaces .cargo/config.toml's, so it names simd128 again; a
    // separate target dir keeps both builds cached.
    build(pkgRelaxed, {
      RUSTFLAGS: '-C target-feature=+simd128,+relaxed-simd',
      CARGO_TARGET_DIR: join(root, 'target', 'relaxed'),
    });
  }
}

function header(runtime) {
  console.log(`\n## ${runtime}\n`);
}

if (both || args.has('--node')) {
  header(`Node ${process.version} (V8 ${process.versions.v8})`);
  const glue = await import(pathToFileURL(join(pkg, 'wasm_chord_bench.js')).href);
  await glue.default({ module_or_path: readFileSync(join(pkg, 'wasm_chord_bench_bg.wasm')) });
  await runCases(glue, { log: (l) => console.log(l), ...opts });
}

if (both || args.has('--browser')) {
  await runBrowser(pkg, '');
  if (args.has('--relaxed')) await runBrowser(pkgRelaxed, ' (relaxed-SIMD build)');
}

async function runBrowser(pkg, label) {
  const page = `<!doctype html><meta charset="utf-8"><title>wasm-chord kernel bench</title>
<script type="module">
import init, * as wasm from '/pkg/wasm_chord_bench.js';
import { runCases } from '/bench/cases.mjs';
const post = (path, body) => fetch(path, { method: 'POST', body });
try {
  await init();
  await post('/log', '\\n## Chromium ' + (navigator.userAgent.match(/Chrom(e|ium)\\/[\\d.]+/) || [''])[0] + '${label}\\n');
  await runCases(wasm, { log: (l) => post('/log', l), ...${JSON.stringify(opts)} });
  await post('/done', '');
} catch (e) {
  await post('/done', String((e && e.stack) || e));
}
</script>`;
  const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  const server = createServer((req, res) => {
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        res.end('ok');
        if (req.url === '/log') console.log(body);
        else if (req.url === '/done') finish(body);
      });
      return;
    }
    const url = new URL(req.url, 'http://127.0.0.1');
    let file = null;
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
      return;
    }
    if (url.pathname.startsWith('/pkg/')) file = join(pkg, url.pathname.slice(5));
    if (url.pathname.startsWith('/bench/')) file = join(root, 'scripts', 'bench', url.pathname.slice(7));
    if (!file || file.includes('..') || !existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const profile = mkdtempSync(join(tmpdir(), 'wasm-chord-bench-'));
  const chrome = spawn(CHROMIUM, ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`, `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
  const timeout = setTimeout(() => finish('timed out after 20 minutes'), 20 * 60 * 1000);
  const error = await done;
  clearTimeout(timeout);
  const exited = new Promise((r) => chrome.once('exit', r));
  chrome.kill();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  server.close();
  // Chromium's helper processes may still be writing into the profile for a moment.
  for (let i = 0; i < 10; i++) {
    try {
      rmSync(profile, { recursive: true, force: true });
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  if (error) {
    console.error(`bench: browser run failed: ${error}`);
    process.exitCode = 1;
  }
}
