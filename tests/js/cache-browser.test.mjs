// The model cache (the Cache API) and resumable downloads in headless Chromium: the shared scenarios
// (tests/js/cache-scenarios.mjs) on a page, then what only a browser has — a page reload, a
// Worker sharing the page's cache, a storage quota error — and the default model cached,
// reloaded and served with the server down, against llama.cpp's greedy tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requirePkg, oracle, robustPrefix, syntheticModels, startServer, flakyRoutes, cacheTestModels, gemmaPath, launchChromium } from './helpers.mjs';
import { scenarios } from './cache-scenarios.mjs';

let server, browser, page, models;

// The page's env for the scenarios: damaged Cache API entries and a simulated quota error.
const PAGE_ENV = `
  const { Model } = await import('/pkg/index.js');
  const { BROWSER_CACHE_NAME } = await import('/pkg/cache.js');
  env.Model = Model;
  env.base = location.origin;
  env.damage = async (kind) => {
    const cache = await caches.open(BROWSER_CACHE_NAME);
    for (const req of await cache.keys()) {
      if (!req.url.endsWith('.gguf')) continue;
      const b = new Uint8Array(await (await cache.match(req)).arrayBuffer());
      if (kind === 'flip') b[b.length >> 1] ^= 0x40;
      await cache.put(req, new Response(kind === 'truncate' ? b.subarray(0, b.length - 1000) : b));
    }
  };
  env.storageFailure = async () => {
    const put = Cache.prototype.put;
    Cache.prototype.put = function () { return Promise.reject(new DOMException('simulated: the quota is exceeded', 'QuotaExceededError')); };
    return { options: {}, restore: async () => { Cache.prototype.put = put; } };
  };
`;

async function inPage(name, env) {
  return page.evaluate(async ({ name, env, code }) => {
    // eslint-disable-next-line no-new-func
    await new Function('env', `return (async () => { ${code} })()`)(env);
    const { scenarios } = await import('/tests/js/cache-scenarios.mjs');
    return scenarios[name](env);
  }, { name, env, code: PAGE_ENV });
}

before(async () => {
  requirePkg();
  models = cacheTestModels(syntheticModels());
  server = await startServer({}, flakyRoutes({ ...models.files, gemma: gemmaPath() }));
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${server.url}/tests/js/blank.html`);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const env = () => ({ cases: models.cases, integrity: models.integrity });

for (const name of Object.keys(scenarios)) {
  test(`browser cache: ${name}`, async () => {
    const r = await inPage(name, env());
    if (r) console.log(`# ${name}: ${JSON.stringify(r)}`);
  });
}

const ctl = (c) => page.evaluate((c) => fetch('/control', { method: 'POST', body: JSON.stringify(c) }).then((r) => r.json()), c);
const served = () => page.evaluate(() => fetch('/control').then((r) => r.json()));

/** In the page: load the flaky URL (Model or WorkerModel), generate `n` greedy tokens. */
const loadInPage = (which, prompt, n) => page.evaluate(async ({ which, prompt, n }) => {
  const { Model } = await import('/pkg/index.js');
  const { WorkerModel } = await import('/pkg/worker.js');
  const M = which === 'worker' ? WorkerModel : Model;
  const m = await M.load('/flaky/model.gguf', { contextLength: 512 });
  const out = await m.generate(prompt, { maxTokens: n });
  const info = m.info;
  m.dispose();
  return { tokens: out.tokens, cache: info.cache };
}, { which, prompt, n });

test('browser cache: after a reload and from a Worker, no body request', async () => {
  const { prompt, tokens } = models.cases.a;
  await ctl({ file: 'a' });
  await page.evaluate(async () => (await import('/pkg/index.js')).Model.clearCache());
  const first = await loadInPage('page', prompt, tokens.length);
  assert.equal(first.cache.status, 'stored');
  await page.reload();
  await ctl({ file: 'a' });
  const reloaded = await loadInPage('page', prompt, tokens.length);
  assert.equal(reloaded.cache.status, 'hit');
  assert.deepEqual(reloaded.tokens, tokens);
  const worker = await loadInPage('worker', prompt, tokens.length);
  assert.equal(worker.cache.status, 'hit');
  assert.deepEqual(worker.tokens, tokens);
  assert.equal((await served()).bodies.count, 0);
});

test('browser cache: the default model, after a reload and with the server down', async () => {
  const planets = oracle('gemma3-270m-q4_k_m.json').cases[2];
  const expected = robustPrefix(planets, 12);
  await ctl({ file: 'gemma' });
  const first = await loadInPage('page', planets.prompt, 12);
  assert.equal(first.cache.status, 'stored');
  assert.deepEqual(first.tokens, expected);
  await page.reload();
  await ctl({ file: 'gemma', down: true });
  const offline = await loadInPage('page', planets.prompt, 12);
  assert.equal(offline.cache.status, 'hit');
  assert.match(offline.cache.revalidation, /offline/);
  assert.deepEqual(offline.tokens, expected);
  await ctl({ file: 'gemma' });
  await page.evaluate(async () => (await import('/pkg/index.js')).Model.clearCache());
});
