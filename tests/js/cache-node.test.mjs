// The model cache and resumable downloads under Node: a directory cache (WASM_CHORD_CACHE_DIR,
// a fresh temporary one here) over the flaky test server. The scenarios are shared with the
// browser run (tests/js/cache-scenarios.mjs); here only the environment hooks differ.
import { test, before, after } from 'node:test';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, truncateSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pkgDir, requirePkg, syntheticModels, startServer, flakyRoutes, cacheTestModels } from './helpers.mjs';
import { scenarios } from './cache-scenarios.mjs';

let server, env, dir;

before(async () => {
  requirePkg();
  dir = mkdtempSync(join(tmpdir(), 'wasm-chord-cache-'));
  process.env.WASM_CHORD_CACHE_DIR = dir;
  const models = cacheTestModels(syntheticModels());
  server = await startServer({}, flakyRoutes(models.files));
  const { Model } = await import(pathToFileURL(join(pkgDir, 'index.js')).href);
  env = {
    Model, base: server.url, cases: models.cases, integrity: models.integrity,
    async damage(kind) {
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.gguf'))) {
        const p = join(dir, f);
        if (kind === 'truncate') truncateSync(p, statSync(p).size - 1000);
        else {
          const b = readFileSync(p);
          b[b.length >> 1] ^= 0x40;
          writeFileSync(p, b);
        }
      }
    },
    // A cache directory that cannot exist: the load must still succeed, uncached.
    storageFailure: async () => ({ options: { cacheDir: '/dev/null/wasm-chord' }, restore: async () => {} }),
  };
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

for (const [name, run] of Object.entries(scenarios)) {
  test(`node cache: ${name}`, async () => {
    const r = await run(env);
    if (r) console.log(`# ${name}: ${JSON.stringify(r)}`);
  });
}
