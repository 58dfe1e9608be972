// Shared set-up for the JavaScript tests: paths, fixtures, test models and a local server
// that can also misbehave on purpose (slow, lying, cut-off bodies).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, sendFile } from '../../scripts/lib/serve.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const pkgDir = join(root, 'pkg');
/** The same build with the test hooks (`_argmaxAll`, `_simulateDeviceLoss`, `_gpuStats`). */
export const testPkgDir = join(root, 'target', 'pkg-test');
export const testPkgUrl = '/target/pkg-test';

export function gemmaPath() {
  const p = process.env.WASM_CHORD_MODEL ?? join(homedir(), '.cache', 'wasm-chord', 'models', 'gemma-3-270m-q4_k_m.gguf');
  if (!existsSync(p)) throw new Error(`test model missing at ${p}: run \`npm run fetch-model\` (or set WASM_CHORD_MODEL)`);
  return p;
}

export function requirePkg() {
  if (!existsSync(join(pkgDir, 'index.js'))) throw new Error('pkg/ is not built: run `npm run build` first');
}

export function requireTestPkg() {
  if (!existsSync(join(testPkgDir, 'index.js'))) throw new Error('target/pkg-test/ is not built: run `node scripts/build.mjs --profile test`');
}

export const oracle = (name) => JSON.parse(readFileSync(join(root, 'tests', 'fixtures', 'oracle', name), 'utf8'));
export const chatFixture = () => JSON.parse(readFileSync(join(root, 'tests', 'fixtures', 'chat', 'templates.json'), 'utf8'));

/**
 * The llama.cpp greedy tokens that are robust to our measured logit error: the prefix up to
 * (not including) the first step whose top-1/top-2 gap is below `minGap`.
 */
export function robustPrefix(fixtureCase, n, minGap = 0.5) {
  const out = [];
  for (let i = 0; i < Math.min(n, fixtureCase.greedy_tokens.length); i++) {
    const top = fixtureCase.steps[i].top;
    if (top[0][1] - top[1][1] < minGap) break;
    out.push(fixtureCase.greedy_tokens[i]);
  }
  return out;
}

let synthDir = null;
/** Writes the synthetic models (tests/support/synthetic_models.rs) once per run. */
export function syntheticModels() {
  if (!synthDir) {
    synthDir = mkdtempSync(join(tmpdir(), 'wasm-chord-synth-'));
    execFileSync('cargo', ['test', '--quiet', '--test', 'fixture_writers', '--', '--ignored', '--exact', 'synthetic_models'], {
      cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, WASM_CHORD_FIXTURE_DIR: synthDir },
    });
  }
  return synthDir;
}

export function readPrefix(path, n) {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally { closeSync(fd); }
}

/** A tiny GGUF (v3) with one tensor of the given GGML type id: enough to test type errors. */
export function tinyGguf({ typeId, dims = [32, 1], dataBytes = 32 * 4 }) {
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s) => { const b = Buffer.from(s, 'utf8'); u64(b.length); parts.push(b); };
  parts.push(Buffer.from('GGUF'));
  u32(3); u64(1); u64(1);
  str('general.architecture'); u32(8); str('llama');
  str('blk.0.attn_q.weight'); u32(dims.length); for (const d of dims) u64(d); u32(typeId); u64(0);
  let len = parts.reduce((a, b) => a + b.length, 0);
  parts.push(Buffer.alloc((32 - (len % 32)) % 32));
  parts.push(Buffer.alloc(dataBytes));
  return Buffer.concat(parts);
}

/**
 * Serves the repository (pkg/, www/, tests/) plus routes that misbehave:
 *   /models/gemma.gguf          the real file
 *   /hostile/truncated.gguf     full Content-Length, connection cut after `cutAt` bytes
 *   /hostile/short-length.gguf  the first 12 MiB of Gemma with an honest Content-Length
 *                               (its header points past the end), sent slowly
 *   /hostile/bad-magic.gguf     4 wrong bytes, then Gemma's header
 *   /hostile/iq4nl.gguf         a tensor of unsupported type IQ4_NL
 *   /slow/gemma.gguf            the real file, throttled (for abort tests)
 */
/** The test server; `mounts` adds URL prefixes (directories or files) to the repository root's. */
export async function startServer(mounts = {}, extraRoutes = {}) {
  const gemma = gemmaPath();
  const size = statSync(gemma).size;
  const header = readPrefix(gemma, 12 << 20);
  const routes = {
    '/models/gemma.gguf': (req, res) => sendFileRange(res, gemma, size),
    '/hostile/truncated.gguf': (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
      const cutAt = 40 << 20;
      const fd = openSync(gemma, 'r');
      let off = 0;
      const pump = () => {
        while (off < cutAt) {
          const buf = Buffer.alloc(1 << 20);
          readSync(fd, buf, 0, buf.length, off);
          off += buf.length;
          if (!res.write(buf)) return res.once('drain', pump);
        }
        closeSync(fd);
        res.socket?.destroy();
      };
      pump();
    },
    '/hostile/short-length.gguf': (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': header.length });
      let off = 0;
      const timer = setInterval(() => {
        if (off >= header.length || res.destroyed) { clearInterval(timer); res.end(); return; }
        res.write(header.subarray(off, off + (1 << 20)));
        off += 1 << 20;
      }, 40);
      res.on('close', () => clearInterval(timer));
    },
    '/hostile/bad-magic.gguf': (req, res) => {
      const body = Buffer.concat([Buffer.from('GGML'), header.subarray(4, 1 << 16)]);
      res.writeHead(200, { 'Content-Length': body.length });
      res.end(body);
    },
    '/hostile/iq4nl.gguf': (req, res) => {
      const body = tinyGguf({ typeId: 20, dims: [32, 1], dataBytes: 18 });
      res.writeHead(200, { 'Content-Length': body.length });
      res.end(body);
    },
    '/slow/gemma.gguf': (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
      const fd = openSync(gemma, 'r');
      let off = 0;
      const timer = setInterval(() => {
        if (res.destroyed || off >= size) { clearInterval(timer); closeSync(fd); res.end(); return; }
        const buf = Buffer.alloc(Math.min(1 << 20, size - off));
        readSync(fd, buf, 0, buf.length, off);
        off += buf.length;
        res.write(buf);
      }, 50);
      res.on('close', () => clearInterval(timer));
    },
  };
  return serve({ mounts: { '/': root, ...mounts }, routes: { ...routes, ...extraRoutes } });
}

function sendFileRange(res, path, size) {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
  import('node:fs').then(({ createReadStream }) => createReadStream(path).pipe(res));
}

/**
 * A route serving `control.file` (ETag, Last-Modified, ranges unless `control.ranges` is
 * false; `control.etagSuffix` changes the version) that logs every request in `control.log`
 * (`{ method, range, conditional, status, bytes }`, bytes = body bytes actually sent) and
 * misbehaves on the body responses as `control.plan` says, one item per response:
 * `{ cutAt }` drops the connection after sending up to file offset `cutAt`, `{ stallAt }` sends
 * up to there and then nothing, keeping the connection open; `null` serves normally. A step's
 * `then` (e.g. `{ file, etagSuffix }`) is applied to `control` once the cut is made: the file
 * changes on the server mid-download.
 */
export function flakyRoute(control) {
  control.log ??= [];
  control.plan ??= [];
  return (req, res) => {
    const entry = {
      method: req.method, range: req.headers.range ?? null,
      conditional: !!(req.headers['if-none-match'] || req.headers['if-modified-since']), status: 0, bytes: 0,
    };
    control.log.push(entry);
    const writeHead = res.writeHead.bind(res);
    res.writeHead = (status, ...rest) => { entry.status = status; return writeHead(status, ...rest); };
    const pipe = (body, out, start) => {
      const step = control.plan.shift() ?? null;
      const limit = step?.cutAt ?? step?.stallAt;
      let off = start;
      body.on('data', (chunk) => {
        if (limit === undefined || off + chunk.length <= limit) {
          off += chunk.length;
          entry.bytes += chunk.length;
          if (!out.write(chunk)) { body.pause(); out.once('drain', () => body.resume()); }
          return;
        }
        const part = chunk.subarray(0, Math.max(0, limit - off));
        entry.bytes += part.length;
        body.destroy();
        out.write(part, () => {
          // A cut: the socket closes mid-body. A stall: nothing more, until the client gives up.
          if (step.then) Object.assign(control, step.then);
          if (step.cutAt !== undefined) setTimeout(() => out.socket?.destroy(), 20);
        });
      });
      body.on('end', () => out.end());
      out.on('close', () => body.destroy());
    };
    sendFile(req, res, control.file, statSync(control.file), { ranges: control.ranges, etagSuffix: control.etagSuffix, pipe });
  };
}

/** Body responses (200/206) in a flaky route's log, and their bytes. */
export function bodyRequests(control) {
  const bodies = control.log.filter((e) => e.method === 'GET' && (e.status === 200 || e.status === 206));
  return { count: bodies.length, bytes: bodies.reduce((a, e) => a + e.bytes, 0) };
}

/**
 * Routes for the cache and resume scenarios (tests/js/cache-scenarios.mjs), usable from Node
 * and from a page alike: `/flaky/model.gguf` is a flakyRoute over one of `files` (by name),
 * steered with `POST /control` (JSON: `{ file?, plan?, ranges?, etagSuffix?, down? }`; the log
 * restarts) and read with `GET /control` (`{ log, bodies, size }`). `down: true` answers
 * every model request by dropping the connection, as a stopped server would.
 */
export function flakyRoutes(files) {
  const control = { file: Object.values(files)[0], plan: [], log: [], down: false };
  const route = flakyRoute(control);
  return {
    '/flaky/model.gguf': (req, res) => (control.down ? req.socket.destroy() : route(req, res)),
    '/control': (req, res) => {
      const reply = (v) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(v)); };
      if (req.method === 'GET') return reply({ log: control.log, bodies: bodyRequests(control), size: statSync(control.file).size });
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        const c = JSON.parse(body || '{}');
        if (c.file !== undefined) control.file = files[c.file];
        const named = (then) => (then?.file ? { ...then, file: files[then.file] } : then);
        control.plan = (c.plan ?? []).map((step) => (step?.then ? { ...step, then: named(step.then) } : step));
        control.ranges = c.ranges ?? true;
        control.etagSuffix = c.etagSuffix ?? '';
        control.down = !!c.down;
        control.log = [];
        reply({ size: statSync(control.file).size });
      });
    },
  };
}

/**
 * The two small models the cache scenarios serve (synthetic Llama 3 and Qwen2, from
 * `synthDir`), each with a prompt and llama.cpp's robust greedy tokens for it (the fixture
 * case with the longest robust prefix, up to 8), and file a's `integrity`.
 */
export function cacheTestModels(synthDir) {
  const files = { a: join(synthDir, 'synthetic-llama3.gguf'), b: join(synthDir, 'synthetic-qwen2.gguf') };
  const cases = {};
  for (const [k, name] of [['a', 'llama3'], ['b', 'qwen2']]) {
    const best = oracle(`synthetic-${name}.json`).cases
      .map((c) => ({ prompt: c.prompt, tokens: robustPrefix(c, 8) }))
      .sort((x, y) => y.tokens.length - x.tokens.length)[0];
    if (best.tokens.length < 3) throw new Error(`cacheTestModels: ${name} has no robust greedy prefix of 3 tokens`);
    cases[k] = best;
  }
  const integrity = { a: `sha256-${createHash('sha256').update(readFileSync(files.a)).digest('base64')}` };
  return { files, cases, integrity };
}

/** Headless Chromium for the package tests (Debian's, or $CHROMIUM), quiet and sandbox-free. */
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-quic', '--disable-dev-shm-usage', ...extraArgs],
  });
}
