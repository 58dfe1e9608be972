// Which browser storage the model cache should use, measured (README "Caching"): in headless
// Chromium, the default model fetched and written, then read back as a stream, by
//   opfs-writable  OPFS, FileSystemFileHandle.createWritable (page or worker) / File.stream()
//   opfs-writable-batched  the same, one write per 8 MiB Blob of chunks instead of per chunk
//   opfs-sync      OPFS, createSyncAccessHandle (dedicated workers only) write / read
//   cache-api      Cache API, cache.put(url, response) / (await cache.match(url)).body
//   cache-api-stream  the same, the chunks read in JS and enqueued into the body being put
// The write figures include the download from 127.0.0.1 (as a real load would); "fetch only"
// is the download alone. Median of --runs (default 3), a fresh browser profile per run.
//
//   node scripts/bench-storage.mjs [--model PATH] [--runs N]
import { chromium } from 'playwright-core';
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/serve.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const MODEL = arg('--model', process.env.WASM_CHORD_MODEL ?? join(homedir(), '.cache', 'wasm-chord', 'models', 'gemma-3-270m-q4_k_m.gguf'));
const RUNS = Number(arg('--runs', 3));

// Runs in the page (and, for opfs-sync, in a worker built from the same source).
const PAGE = async (kind) => {
  const url = '/models/model.gguf';
  const drain = async (stream) => { let n = 0; const r = stream.getReader(); for (;;) { const { done, value } = await r.read(); if (done) return n; n += value.byteLength; } };
  const root = await navigator.storage.getDirectory();
  const t0 = performance.now();
  let bytes = 0;
  if (kind === 'fetch') {
    bytes = await drain((await fetch(url, { cache: 'no-store' })).body);
    return { writeMs: performance.now() - t0, readMs: NaN, bytes };
  }
  if (kind === 'opfs-writable') {
    const h = await root.getFileHandle('bench.gguf', { create: true });
    const w = await h.createWritable();
    const r = (await fetch(url, { cache: 'no-store' })).body.getReader();
    for (;;) { const { done, value } = await r.read(); if (done) break; bytes += value.byteLength; await w.write(value); }
    await w.close();
    const t1 = performance.now();
    const n = await drain((await h.getFile()).stream());
    return { writeMs: t1 - t0, readMs: performance.now() - t1, bytes: n };
  }
  if (kind === 'opfs-writable-batched') {
    // The same, with the chunks gathered into 8 MiB Blobs: one write call per Blob.
    const h = await root.getFileHandle('bench-b.gguf', { create: true });
    const w = await h.createWritable();
    const r = (await fetch(url, { cache: 'no-store' })).body.getReader();
    let parts = [], held = 0, pending = Promise.resolve();
    for (;;) {
      const { done, value } = await r.read();
      if (!done) { parts.push(value); held += value.byteLength; bytes += value.byteLength; }
      if (held >= (8 << 20) || (done && held)) { const b = new Blob(parts); parts = []; held = 0; await pending; pending = w.write(b); }
      if (done) break;
    }
    await pending;
    await w.close();
    const t1 = performance.now();
    const n = await drain((await h.getFile()).stream());
    return { writeMs: t1 - t0, readMs: performance.now() - t1, bytes: n };
  }
  if (kind === 'cache-api-stream') {
    // As the loader must: the chunks pass through JS (into wasm memory) and are enqueued
    // into the body of the Response being put.
    const c = await caches.open('bench');
    let ctl;
    const body = new ReadableStream({ start(x) { ctl = x; } });
    const put = c.put(url, new Response(body));
    const r = (await fetch(url, { cache: 'no-store' })).body.getReader();
    for (;;) { const { done, value } = await r.read(); if (done) break; bytes += value.byteLength; ctl.enqueue(value); }
    ctl.close();
    await put;
    const t1 = performance.now();
    const n = await drain((await c.match(url)).body);
    return { writeMs: t1 - t0, readMs: performance.now() - t1, bytes: n };
  }
  if (kind === 'cache-api') {
    const c = await caches.open('bench');
    await c.put(url, await fetch(url, { cache: 'no-store' }));
    const t1 = performance.now();
    const n = await drain((await c.match(url)).body);
    return { writeMs: t1 - t0, readMs: performance.now() - t1, bytes: n };
  }
  if (kind === 'opfs-sync') {
    const src = `onmessage = async () => {
      const root = await navigator.storage.getDirectory();
      const h = await root.getFileHandle('bench-sync.gguf', { create: true });
      const t0 = performance.now();
      const a = await h.createSyncAccessHandle();
      const r = (await fetch(${JSON.stringify(new URL(url, location.href).href)}, { cache: 'no-store' })).body.getReader();
      let at = 0;
      for (;;) { const { done, value } = await r.read(); if (done) break; at += a.write(value, { at }); }
      a.flush();
      const t1 = performance.now();
      const buf = new Uint8Array(4 << 20);
      let off = 0;
      for (;;) { const n = a.read(buf, { at: off }); if (!n) break; off += n; }
      a.close();
      postMessage({ writeMs: t1 - t0, readMs: performance.now() - t1, bytes: off });
    };`;
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
    const r = await new Promise((res) => { w.onmessage = (e) => res(e.data); w.postMessage(0); });
    w.terminate();
    return r;
  }
  throw new Error(kind);
};

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

const server = await serve({ mounts: { '/': ROOT, '/models/model.gguf': MODEL } });
const kinds = ['fetch', 'opfs-writable', 'opfs-writable-batched', 'opfs-sync', 'cache-api', 'cache-api-stream'];
const res = Object.fromEntries(kinds.map((k) => [k, []]));
try {
  for (let run = 0; run < RUNS; run++) {
    for (const kind of kinds) {
      const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage'] });
      try {
        const page = await browser.newPage();
        await page.goto(`${server.url}/tests/js/blank.html`);
        const r = await page.evaluate(PAGE, kind);
        if (r.bytes !== statSync(MODEL).size) throw new Error(`${kind}: ${r.bytes} bytes`);
        res[kind].push(r);
        console.error(`# run ${run + 1} ${kind}: write ${r.writeMs.toFixed(0)} ms, read ${r.readMs.toFixed(0)} ms`);
      } finally { await browser.close(); }
    }
  }
} finally { await server.close(); }
const mib = statSync(MODEL).size / 2 ** 20;
console.log(`model ${MODEL.split('/').pop()} (${mib.toFixed(1)} MiB), headless Chromium, median of ${RUNS}`);
console.log('| storage | fetch + write (ms) | read back (ms) | read MiB/s |');
console.log('|---|---:|---:|---:|');
for (const k of kinds) {
  const w = median(res[k].map((r) => r.writeMs)), rd = median(res[k].map((r) => r.readMs));
  console.log(`| ${k === 'fetch' ? 'fetch only (no storage)' : k} | ${w.toFixed(0)} | ${Number.isFinite(rd) ? rd.toFixed(0) : '—'} | ${Number.isFinite(rd) ? (mib / rd * 1e3).toFixed(0) : '—'} |`);
}
