// The demo chat (www/) end to end in headless Chromium: loads the default model without a
// click, streams llama.cpp's greedy continuation, stops a long generation with Stop, shows a
// coded error for a truncated file, and leaves a screenshot in test-results/demo.png; a second
// visit loads from the cache, whose panel deletes the model. Then a
// non-default model of another architecture and tokenizer (the synthetic Llama 3: llama-bpe)
// through the same page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root, pkgDir, requirePkg, oracle, robustPrefix, startServer, syntheticModels, launchChromium } from './helpers.mjs';

const planets = oracle('gemma3-270m-q4_k_m.json').cases[2];
let server, browser, page;

before(async () => {
  requirePkg();
  server = await startServer({ '/models/synthetic': syntheticModels() });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const status = () => page.getByTestId('status');

/**
 * Opens the demo on `model`, waits until it is ready in completion mode, sends `prompt` for
 * `maxTokens` greedy tokens (temperature 0 is the default) with the Enter key; returns the text
 * shown, and the package's own generation for the same prompt (the expected text).
 */
async function completeInDemo(model, prompt, maxTokens, timeout) {
  await page.goto(`${server.url}/www/index.html?model=${model}`);
  await status().filter({ hasText: /^Ready/ }).waitFor({ timeout });
  assert.match(await page.locator('#mode').textContent(), /completion mode/);
  await page.fill('#max-tokens', String(maxTokens));
  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('prompt').press('Enter');
  await status().filter({ hasText: /^Done/ }).waitFor({ timeout });
  const shown = await page.locator('.msg.completion .text').last().textContent();
  const { Model } = await import(pathToFileURL(join(pkgDir, 'index.js')).href);
  const m = await Model.load(`${server.url}${model}`);
  try {
    return { shown, ref: await m.generate(prompt, { maxTokens }), tokens: Array.from(m.tokenize(prompt)) };
  } finally {
    m.dispose();
  }
}

test('demo: loads, streams the greedy continuation, stops, reports a truncated file', async () => {
  // llama.cpp's 16 greedy tokens, rendered by the package itself, are what the page shows.
  const { shown, ref } = await completeInDemo('/models/gemma.gguf', planets.prompt, 16, 120_000);
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

test('demo: a second visit starts from the cache; the panel lists the model and deletes it', async () => {
  await page.goto(`${server.url}/www/index.html?model=/models/gemma.gguf`);
  await status().filter({ hasText: /^Ready/ }).waitFor({ timeout: 60_000 });
  assert.match(await status().textContent(), /from the cache \(no download\)/);
  const item = page.getByTestId('cache-list').locator('li', { hasText: 'gemma.gguf' });
  await item.waitFor();
  assert.match(await item.textContent(), /241\.4 MiB/);
  await item.getByRole('button', { name: /Delete/ }).click();
  await item.waitFor({ state: 'detached' });
  assert.match(await page.getByTestId('cache-list').textContent(), /none yet/);
});

test('demo: any supported model by URL (synthetic Llama 3 with the llama-bpe tokenizer)', async () => {
  const fx = oracle('synthetic-llama3.json');
  const c = fx.cases[1];
  const { shown, ref, tokens } = await completeInDemo('/models/synthetic/synthetic-llama3.gguf', c.prompt, 16, 60_000);
  assert.deepEqual(tokens, c.prompt_tokens);
  // The package's F16 KV cache (the fixture's is F32) may take either of two near-tied tokens
  // (gap < 0.5), so llama.cpp's tokens up to the first near tie (7 here).
  const robust = robustPrefix(c, 16);
  assert.ok(robust.length >= 7, `robust prefix ${robust.length}`);
  assert.deepEqual(ref.tokens.slice(0, robust.length), robust);
  assert.equal(ref.tokens.length, 16);
  assert.equal(shown, ref.text);
});
