// `npm pack` gives a package a fresh Vite app installs and builds against, and the built app
// runs in headless Chromium (page Model and WorkerModel) with llama.cpp's greedy tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../../scripts/lib/serve.mjs';
import { root, pkgDir, requirePkg, gemmaPath, oracle, robustPrefix, launchChromium } from './helpers.mjs';

let work;
before(() => {
  requirePkg();
  work = mkdtempSync(join(tmpdir(), 'wasm-chord-vite-'));
});
after(() => { if (work) rmSync(work, { recursive: true, force: true }); });

test('npm pack → install into a Vite app → vite build → runs in Chromium', async () => {
  const packed = execFileSync('npm', ['pack', pkgDir, '--pack-destination', work, '--silent'], { encoding: 'utf8' }).trim().split('\n').at(-1);
  const tarball = join(work, packed);
  const app = join(work, 'app');
  cpSync(join(root, 'tests', 'vite-app'), app, { recursive: true });
  // Only the tarball is installed (it has no dependencies); Vite comes from the repo's devDependencies.
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--offline', tarball], { cwd: app, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(join(root, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: app, stdio: ['ignore', 'inherit', 'inherit'] });
  const assets = readdirSync(join(app, 'dist', 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `wasm emitted: ${assets}`);
  assert.ok(assets.some((f) => /worker-thread.*\.js$/.test(f)), `worker chunk emitted: ${assets}`);

  const planets = oracle('gemma3-270m-q4_k_m.json').cases[2];
  const server = await serve({ mounts: { '/': join(app, 'dist'), '/models/gemma.gguf': gemmaPath() } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/?prompt=${encodeURIComponent(planets.prompt)}`);
    const r = await page.evaluate(() => window.result);
    const expected = robustPrefix(planets, 8);
    assert.deepEqual(r.page, expected);
    assert.deepEqual(r.worker, expected);
  } finally {
    await browser.close();
    await server.close();
  }
});
