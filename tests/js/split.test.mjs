// Split models (llama.cpp's gguf-split layout) through the package, under Node and in headless
// Chromium: the default model split by the project's own splitter (scripts/split.mjs) gives
// llama.cpp's greedy tokens loaded by its first shard's URL, by an array of URLs in any
// order, and from Files; each shard is cached; a missing, duplicated or foreign shard is a
// typed error naming it. (llama.cpp itself loads these shards to the same text:
// scripts/oracle/split-check.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, openAsBlob, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pkgDir, requirePkg, gemmaPath, oracle, robustPrefix, startServer, syntheticModels, launchChromium } from './helpers.mjs';
import { splitGguf } from '../../scripts/split.mjs';

const planets = oracle('gemma3-270m-q4_k_m.json').cases[2];
const expected = robustPrefix(planets, 12);
let Model, server, dir, gemmaShards, llamaShards, qwenShards;

before(async () => {
  requirePkg();
  ({ Model } = await import(pathToFileURL(join(pkgDir, 'index.js')).href));
  dir = mkdtempSync(join(tmpdir(), 'wasm-chord-split-'));
  gemmaShards = await splitGguf(gemmaPath(), 100 << 20, join(dir, 'gemma'));
  const synth = syntheticModels();
  const quarter = (f) => Math.floor(statSync(f).size / 4);
  const llama = join(synth, 'synthetic-llama3.gguf');
  const qwen = join(synth, 'synthetic-qwen2.gguf');
  llamaShards = await splitGguf(llama, quarter(llama), join(dir, 'llama3'));
  qwenShards = await splitGguf(qwen, quarter(qwen), join(dir, 'qwen2'));
  // A split whose third shard the server does not have.
  mkdirSync(join(dir, 'holey'));
  for (const f of llamaShards.filter((_, i) => i !== 2)) copyFileSync(f, join(dir, 'holey', basename(f)));
  server = await startServer({ '/split': dir });
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const url = (f) => `${server.url}/split/${basename(f)}`;

async function tokensOf(source, options = {}) {
  const m = await Model.load(source, { contextLength: 256, ...options });
  try {
    return { tokens: (await m.generate(planets.prompt, { maxTokens: expected.length })).tokens, info: m.info };
  } finally { m.dispose(); }
}

async function codeOf(source) {
  try { await Model.load(source, { cache: false }); return ['loaded', '']; } catch (e) { return [e.code, e.message]; }
}

test('the splitter writes gguf-split shards of the default model', () => {
  assert.equal(gemmaShards.length, 3);
  assert.match(basename(gemmaShards[0]), /^gemma-00001-of-00003\.gguf$/);
  // Shards hold at most 100 MiB of tensors, except one holding a single larger tensor.
  const sizes = gemmaShards.map((f) => statSync(f).size);
  assert.ok(sizes.filter((s) => s > (101 << 20)).length <= 1, `sizes ${sizes}`);
  assert.ok(llamaShards.length >= 3 && qwenShards.length === llamaShards.length);
});

test('node: the split default model by its first URL, by URLs in any order and from files: llama.cpp\'s tokens', async () => {
  const first = await tokensOf(url(gemmaShards[0]));
  assert.deepEqual(first.tokens, expected);
  assert.equal(first.info.fileBytes, gemmaShards.reduce((a, f) => a + statSync(f).size, 0));
  assert.equal(first.info.cache.status, 'stored');
  const again = await tokensOf(url(gemmaShards[0]));
  assert.equal(again.info.cache.status, 'hit');
  assert.deepEqual(again.tokens, expected);
  const listed = (await Model.listCached()).map((r) => r.url);
  for (const f of gemmaShards) assert.ok(listed.includes(url(f)), `${basename(f)} not cached`);
  const shuffled = await tokensOf([gemmaShards[2], gemmaShards[0], gemmaShards[1]].map(url), { cache: false });
  assert.deepEqual(shuffled.tokens, expected);
  const files = await tokensOf(await Promise.all(gemmaShards.map((f) => openAsBlob(f))));
  assert.deepEqual(files.tokens, expected);
  for (const f of gemmaShards) await Model.deleteCached(url(f));
});

test('node: a missing, duplicated or foreign shard, or one shard alone, is a typed error naming it', async () => {
  const urls = llamaShards.map(url);
  const n = urls.length;
  const [missing, msg1] = await codeOf(urls.filter((_, i) => i !== 1));
  assert.equal(missing, 'GGUF_SPLIT_INVALID');
  assert.match(msg1, new RegExp(`shard 2 of ${n} is missing`));
  const [dup, msg2] = await codeOf([urls[0], urls[1], urls[1], ...urls.slice(3)]);
  assert.equal(dup, 'GGUF_SPLIT_INVALID');
  assert.match(msg2, /shard 2 is given twice/);
  const [foreign, msg3] = await codeOf([urls[0], url(qwenShards[1]), ...urls.slice(2)]);
  assert.equal(foreign, 'GGUF_SPLIT_INVALID');
  assert.ok(msg3.includes(basename(qwenShards[1])) && /different models/.test(msg3), msg3);
  const [lone, msg4] = await codeOf(urls[1]);
  assert.equal(lone, 'GGUF_SPLIT_INVALID');
  assert.match(msg4, new RegExp(`shard 2 of ${n}`));
  const [holey, msg5] = await codeOf(`${server.url}/split/holey/${basename(llamaShards[0])}`);
  assert.equal(holey, 'FETCH_FAILED');
  assert.ok(msg5.includes(basename(llamaShards[2])) && /404/.test(msg5), msg5);
  await assert.rejects(Model.load(urls, { integrity: `sha256-${'A'.repeat(43)}=` }), (e) => e.code === 'INVALID_OPTION');
});

test('chromium: the split default model by its first URL, cached shard by shard, then from the cache (page and Worker)', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/tests/js/blank.html`);
    const run = () => page.evaluate(async ({ first, prompt, n }) => {
      const { Model } = await import('/pkg/index.js');
      let shardsSeen = 0;
      const m = await Model.load(first, { contextLength: 256, onProgress: (p) => { shardsSeen = Math.max(shardsSeen, p.shards ?? 0); } });
      const out = await m.generate(prompt, { maxTokens: n });
      const info = m.info;
      m.dispose();
      return { tokens: out.tokens, cache: info.cache, shardsSeen, cached: (await Model.listCached()).length };
    }, { first: `/split/${basename(gemmaShards[0])}`, prompt: planets.prompt, n: expected.length });
    const first = await run();
    assert.deepEqual(first.tokens, expected);
    assert.equal(first.cache.status, 'stored');
    assert.equal(first.shardsSeen, 3);
    assert.equal(first.cached, 3);
    await page.reload();
    const second = await run();
    assert.equal(second.cache.status, 'hit');
    assert.deepEqual(second.tokens, expected);
    // A Worker, given the shards as an array of (relative) URLs, reads the same cache.
    const worker = await page.evaluate(async ({ shards, prompt, n }) => {
      const { WorkerModel } = await import('/pkg/worker.js');
      const m = await WorkerModel.load(shards, { contextLength: 256 });
      const out = await m.generate(prompt, { maxTokens: n });
      const info = m.info;
      m.dispose();
      return { tokens: out.tokens, cache: info.cache };
    }, { shards: gemmaShards.map((f) => `/split/${basename(f)}`).reverse(), prompt: planets.prompt, n: expected.length });
    assert.equal(worker.cache.status, 'hit');
    assert.deepEqual(worker.tokens, expected);
  } finally { await browser.close(); }
});
