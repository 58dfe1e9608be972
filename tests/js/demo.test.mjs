// The demo chat (www/) end to end in headless Chromium: loads the default model without a
// click, streams llama.cpp's greedy continuation, stops a long generation with Stop, shows a
// coded error for a truncated file, and leaves a screenshot in test-results/demo.png. Then a
// non-default model of another architecture and tokenizer (the synthetic Llama 3: llama-bpe)
// through the same page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { root, pkgDir, requirePkg, oracle, robustPrefix, startServer, syntheticModels } from './helpers.mjs';

const planets = oracle('gemma3-270m-q4_k_m.json').cases[2];
let server, browser, page;

before(async () => {
  requirePkg();
  server = await startServer({ '/models/synthetic': syntheticModels() });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const status = () => page.getByTestId('status');

test('demo: loads, streams the greedy continuation, stops, reports a truncated file', async () => {
  await page.goto(`${server.url}/www/index.html?model=/models/gemma.gguf`);
  await status().filter({ hasText: /^Ready/ }).waitFor({ timeout: 120_000 });
  assert.match(await page.locator('#mode').textContent(), /completion mode/);

  // Greedy (temperature 0 is the default), 16 tokens, sent with the Enter key.
  await page.fill('#max-tokens', '16');
  await page.getByTestId('prompt').fill(planets.prompt);
  await page.getByTestId('prompt').press('Enter');
  await status().filter({ hasText: /^Done/ }).waitFor({ timeout: 120_000 });
  const shown = await page.locator('.msg.completion .text').last().textContent();
  // The expected text: llama.cpp's 16 greedy tokens, rendered by the package itself.
  const { Model } = await import(pathToFileURL(join(pkgDir, 'index.js')).href);
  const m = await Model.load(`${server.url}/models/gemma.gguf`);
  const ref = await m.generate(planets.prompt, { maxTokens: 16 });
  m.dispose();
  assert.deepEqual(ref.tokens, robustPrefix(planets, 16));
  assert.equal(shown, ref.text);
  assert.match(await status().textContent(), /16 tokens/);

  // A long generation, stopped with the Stop button.
  await page.fill('#max-tokens', '1000');
  await page.getByTestId('prompt').fill('Once upon a time');
  await page.getByTestId('send').click();
  await page.waitForFunction(() => (document.querySelector('.msg.completion:last-child .text')?.textContent ?? '').length > 20, null, { timeout: 60_000 });
  await page.getByTestId('stop').click();
  await status().filter({ hasText: /^Stopped/ }).waitFor({ timeout: 30_000 });
  const n = Number(/(\d+) tokens/.exec(await status().textContent())[1]);
  assert.ok(n > 0 && n < 1000, `stopped after ${n} tokens`);
  assert.equal(await page.getByTestId('send').isEnabled(), true);

  mkdirSync(join(root, 'test-results'), { recursive: true });
  await page.screenshot({ path: join(root, 'test-results', 'demo.png'), fullPage: true });

  // A truncated file: the error code is shown.
  await page.fill('#model-url', '/hostile/truncated.gguf');
  await page.locator('#url-form button').click();
  await status().filter({ hasText: 'GGUF_TRUNCATED' }).waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(root, 'test-results', 'demo-error.png'), fullPage: true });
});

test('demo: any supported model by URL (synthetic Llama 3 with the llama-bpe tokenizer)', async () => {
  const fx = oracle('synthetic-llama3.json');
  const c = fx.cases[1];
  await page.goto(`${server.url}/www/index.html?model=/models/synthetic/synthetic-llama3.gguf`);
  await status().filter({ hasText: /^Ready/ }).waitFor({ timeout: 60_000 });
  assert.match(await page.locator('#mode').textContent(), /completion mode/);
  await page.fill('#max-tokens', '16');
  await page.getByTestId('prompt').fill(c.prompt);
  await page.getByTestId('prompt').press('Enter');
  await status().filter({ hasText: /^Done/ }).waitFor({ timeout: 60_000 });
  const shown = await page.locator('.msg.completion .text').last().textContent();
  // The package's F16 KV cache (the fixture's is F32) may take either of two near-tied tokens
  // (gap < 0.5), so llama.cpp's tokens up to the first near tie (7 here).
  const { Model } = await import(pathToFileURL(join(pkgDir, 'index.js')).href);
  const m = await Model.load(`${server.url}/models/synthetic/synthetic-llama3.gguf`);
  assert.deepEqual(Array.from(m.tokenize(c.prompt)), c.prompt_tokens);
  const ref = await m.generate(c.prompt, { maxTokens: 16 });
  m.dispose();
  const robust = robustPrefix(c, 16);
  assert.ok(robust.length >= 7, `robust prefix ${robust.length}`);
  assert.deepEqual(ref.tokens.slice(0, robust.length), robust);
  assert.equal(ref.tokens.length, 16);
  assert.equal(shown, ref.text);
});
