// The npm package in headless Chromium (playwright-core driving Debian's /usr/bin/chromium),
// served from 127.0.0.1 with COOP/COEP: Model on the page and WorkerModel in a Worker, against
// llama.cpp's greedy fixture, with abort and a hostile file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requirePkg, oracle, robustPrefix, startServer, launchChromium } from './helpers.mjs';

const planets = oracle('gemma3-270m-q4_k_m.json').cases[2];
let server, browser, page;

before(async () => {
  requirePkg();
  server = await startServer();
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  // Any page of the origin will do; the tests import the package from /pkg/.
  await page.goto(`${server.url}/tests/js/blank.html`);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('page: load over fetch, greedy tokens equal llama.cpp, stream, abort, then reuse', async () => {
  const r = await page.evaluate(async ({ prompt }) => {
    const { Model } = await import('/pkg/index.js');
    const phases = new Set();
    const m = await Model.load('/models/gemma.gguf', { onProgress: (p) => phases.add(p.phase), contextLength: 512 });
    const out = await m.generate(prompt, { maxTokens: 16 });
    const streamed = [];
    for await (const ev of m.stream(prompt, { maxTokens: 16 })) streamed.push(ev.tokenId);
    const ac = new AbortController();
    let n = 0;
    const aborted = await m.generate('Once upon a time', { maxTokens: 50, signal: ac.signal, onToken: () => { if (++n === 2) ac.abort(); } });
    const again = await m.generate(prompt, { maxTokens: 4 });
    const info = m.info;
    m.dispose();
    return { phases: [...phases], tokens: out.tokens, streamed, aborted: [aborted.finishReason, aborted.tokens.length],
      again: again.tokens, isolated: self.crossOriginIsolated, backend: info.backend, reason: info.backendReason,
      decodeTps: out.timings.decodeTokensPerSecond };
  }, { prompt: planets.prompt });
  const expected = robustPrefix(planets, 16);
  assert.deepEqual(r.phases, ['download', 'header', 'prepare', 'ready']);
  assert.deepEqual(r.tokens, expected);
  assert.deepEqual(r.streamed, expected);
  assert.deepEqual(r.aborted, ['abort', 2]);
  assert.deepEqual(r.again, expected.slice(0, 4));
  assert.equal(r.isolated, true);
  // This Chromium runs without --enable-unsafe-webgpu: navigator.gpu offers no adapter, so
  // 'auto' stays on the CPU and says why (tests/js/webgpu.test.mjs covers WebGPU itself).
  assert.equal(r.backend, 'cpu');
  assert.match(r.reason, /no WebGPU/);
  console.log(`# Chromium page decode: ${r.decodeTps.toFixed(1)} tok/s (not asserted)`);
});

test('worker: WorkerModel streams the same tokens from a Web Worker', async () => {
  const r = await page.evaluate(async ({ prompt }) => {
    const { WorkerModel } = await import('/pkg/worker.js');
    let progress = 0;
    const m = await WorkerModel.load('/models/gemma.gguf', { onProgress: () => { progress++; }, contextLength: 512 });
    const streamed = [];
    for await (const ev of m.stream(prompt, { maxTokens: 16 })) streamed.push(ev.tokenId);
    const viaCallback = [];
    const out = await m.generate(prompt, { maxTokens: 8, onToken: (t, id) => { viaCallback.push(id); } });
    const stopped = await m.generate(prompt, { maxTokens: 8, onToken: () => false });
    const ids = await m.tokenize(prompt);
    m.dispose();
    return { streamed, out: out.tokens, viaCallback, stopped: stopped.tokens.length, progress, nIds: ids.length };
  }, { prompt: planets.prompt });
  const expected = robustPrefix(planets, 16);
  assert.deepEqual(r.streamed, expected);
  assert.deepEqual(r.out, expected.slice(0, 8));
  assert.deepEqual(r.viaCallback, expected.slice(0, 8));
  // onToken runs on the page: the worker may finish one more token before the stop arrives.
  assert.ok(r.stopped >= 1 && r.stopped <= 2, `stopped after ${r.stopped} tokens`);
  assert.ok(r.progress > 3);
  assert.equal(r.nIds, planets.prompt_tokens.length);
});

test('page: hostile files fail fast with their codes', async () => {
  const r = await page.evaluate(async () => {
    const { Model } = await import('/pkg/index.js');
    const codes = {};
    for (const name of ['truncated', 'short-length', 'bad-magic', 'iq4nl']) {
      try { await Model.load(`/hostile/${name}.gguf`); codes[name] = 'loaded?!'; } catch (e) { codes[name] = [e.code, e.message]; }
    }
    return codes;
  });
  assert.equal(r.truncated[0], 'GGUF_TRUNCATED', r.truncated[1]);
  assert.equal(r['short-length'][0], 'GGUF_TENSOR_OUT_OF_BOUNDS');
  assert.equal(r['bad-magic'][0], 'GGUF_BAD_MAGIC');
  assert.equal(r.iq4nl[0], 'UNSUPPORTED_TYPE');
  assert.match(r.iq4nl[1], /blk\.0\.attn_q\.weight/);
});
