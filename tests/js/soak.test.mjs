// Soak and leaks under Node: 1,000 generate calls, 100 load/dispose cycles and 20 models
// dropped without dispose() (freed by the FinalizationRegistry wasm-bindgen registers for each
// wasm object) in one process, with wasm memory measured before and after. wasm memory never
// shrinks, so a leak shows as growth: each cycle would add a model's bytes (~4 MB) to it.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { pkgDir, requirePkg, syntheticModels } from './helpers.mjs';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const MiB = 1 << 20;

let Model, bytes;

before(async () => {
  requirePkg();
  ({ Model } = await import(pathToFileURL(join(pkgDir, 'index.js')).href));
  bytes = readFileSync(join(syntheticModels(), 'synthetic-q4_0.gguf'));
});

async function collect() {
  // Finalizers run on a later task after a collection.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('1,000 generate calls on one model do not grow memory', async () => {
  const m = await Model.load(new Uint8Array(bytes));
  try {
    for (let i = 0; i < 50; i++) await m.generate(`warm ${i}`, { maxTokens: 2 });
    const before = m.info.memoryBytes;
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1000; i++) {
      const r = await m.generate(`prompt number ${i} `.repeat(1 + (i % 5)), { maxTokens: 2, temperature: i % 2 ? 0.7 : 0, seed: i });
      assert.equal(r.tokens.length, 2);
    }
    await collect();
    const grown = m.info.memoryBytes - before;
    const heapGrown = process.memoryUsage().heapUsed - heapBefore;
    console.log(`# 1000 generates: wasm memory +${grown / MiB} MiB (of ${before / MiB}), JS heap +${(heapGrown / MiB).toFixed(1)} MiB`);
    assert.equal(grown, 0, 'wasm memory grew');
    assert.ok(heapGrown < 16 * MiB, `JS heap grew ${heapGrown}`);
  } finally { m.dispose(); }
});

test('100 load/dispose cycles and 20 forgotten models do not grow memory', async () => {
  const size = async () => {
    const m = await Model.load(new Uint8Array(bytes));
    const b = m.info.memoryBytes;
    m.dispose();
    return b;
  };
  for (let i = 0; i < 5; i++) await size();
  const before = await size();
  for (let i = 0; i < 100; i++) {
    const m = await Model.load(new Uint8Array(bytes));
    await m.generate('hi', { maxTokens: 1 });
    m.dispose();
    await assert.rejects(m.generate('hi', { maxTokens: 1 }), (e) => e.code === 'DISPOSED');
  }
  const afterCycles = await size();
  console.log(`# 100 load/dispose: wasm memory ${before / MiB} → ${afterCycles / MiB} MiB (model file ${(bytes.length / MiB).toFixed(1)} MiB)`);
  assert.equal(afterCycles, before, 'load/dispose leaked');

  // Forgotten: never disposed, only unreachable.
  for (let i = 0; i < 20; i++) {
    const m = await Model.load(new Uint8Array(bytes));
    await m.generate('hi', { maxTokens: 1 });
    await collect();
  }
  await collect();
  const afterForgotten = await size();
  console.log(`# 20 forgotten models: wasm memory ${afterCycles / MiB} → ${afterForgotten / MiB} MiB`);
  // Without finalization each would keep its ~${bytes.length} bytes: 20 of them ≫ 3 models.
  assert.ok(afterForgotten - afterCycles <= 3 * bytes.length, `forgotten models leaked ${afterForgotten - afterCycles} bytes`);
});
