// Model.load's pipeline: a source becomes a stream of chunks (from the cache, a resumable
// download, or the bytes given), each chunk is copied once into wasm memory and committed
// (the header is validated the moment it is complete), checksums are verified, and a
// downloaded file is written to the cache as it arrives — committed only once the model built.

import { WasmLoader, WasmShardSet, cache_key } from './wasm_chord.js';
import { WasmChordError, abortError, fromWasm } from './errors.js';
import { resumableBody, validators } from './download.js';
import { openStore } from './cache.js';

const STATUS_HEADER_READY = 1;

/** Yields to the event loop (so abort signals, messages and rendering get a turn). */
export const yieldToEventLoop = (() => {
  // Node (and Bun, Deno): setImmediate holds the event loop open until it runs. A message on
  // an unreferenced MessagePort does not: a plain script awaiting it exited with code 13
  // ("unsettled top-level await") in the middle of Model.load or generate.
  if (typeof setImmediate === 'function') return () => new Promise((resolve) => setImmediate(resolve));
  if (typeof MessageChannel !== 'undefined') {
    // Browsers: a message task, not a timer, which is clamped to 4 ms when nested.
    const ch = new MessageChannel();
    const queue = [];
    ch.port1.onmessage = () => queue.shift()?.();
    return () => new Promise((resolve) => { queue.push(resolve); ch.port2.postMessage(0); });
  }
  return () => new Promise((resolve) => setTimeout(resolve, 0));
})();

/** `sha256-<base64>` (Subresource Integrity's spelling) → the base64 digest. */
export function parseIntegrity(integrity) {
  if (integrity === undefined) return undefined;
  const m = typeof integrity === 'string' && /^sha256-([A-Za-z0-9+/]{43}=)$/.exec(integrity.trim());
  if (!m) throw new WasmChordError('INVALID_OPTION', `integrity must be 'sha256-' followed by 44 base64 characters, not ${JSON.stringify(integrity)}`);
  return m[1];
}

/** The absolute URL a string or URL source names (relative ones against the page). */
export function absoluteUrl(source) {
  try {
    return new URL(String(source), globalThis.location?.href).href;
  } catch (e) {
    throw new WasmChordError('FETCH_FAILED', `could not fetch ${source}: not a valid URL`, { cause: e });
  }
}

/** The shards of a split model `source` names: an array, or the URL of `…-00001-of-0000N.gguf`. */
function shardSources(source) {
  if (Array.isArray(source)) {
    if (!source.length) throw new WasmChordError('INVALID_SOURCE', 'Model.load: an empty array of shards');
    return source;
  }
  if (typeof source !== 'string' && !(source instanceof URL)) return null;
  const url = new URL(absoluteUrl(source));
  const m = /-(\d{5})-of-(\d{5})\.gguf$/i.exec(url.pathname);
  if (!m || Number(m[1]) !== 1 || Number(m[2]) < 2) return null;
  const count = Number(m[2]);
  return Array.from({ length: count }, (_, i) => {
    const u = new URL(url);
    u.pathname = url.pathname.slice(0, m.index) + `-${String(i + 1).padStart(5, '0')}-of-${m[2]}.gguf`;
    return u.href;
  });
}

/** Shards are downloaded this many at a time. */
const SHARD_PARALLELISM = 2;

/**
 * Loads `source` into a WasmModel. Returns `{ wasmModel, loaded, cache }` where `cache` is
 * `{ status: 'hit'|'stored'|'off', reason? }` for URL sources (undefined for others).
 */
export async function loadModel(memory, source, options, progress) {
  const shards = shardSources(source);
  if (shards) return loadShards(memory, shards, options, progress);
  return loadOne(memory, source, options, progress, (loader) => loader.finish());
}

/** One file; `finish(loader)` makes the result (a model, or one shard of a split model). */
async function loadOne(memory, source, options, progress, finish) {
  const sha256 = parseIntegrity(options.integrity);
  const common = {
    memory, progress, sha256,
    signal: options.signal,
    contextLength: options.contextLength,
  };
  if (typeof source === 'string' || source instanceof URL) {
    // Types and ranges were checked by Model.load (options.js).
    const download = { stallTimeout: options.stallTimeout ?? 30000, retries: options.retries ?? 4 };
    return loadUrl(absoluteUrl(source), { ...common, ...download, finish, cache: options.cache ?? true, cacheDir: options.cacheDir });
  }
  const { stream, total: advertised, name } = openSource(source);
  const total = advertised ?? (Number.isSafeInteger(options.size) ? options.size : undefined);
  const r = await feed({ ...common, finish, name, total, events: streamEvents(stream, name, total, options.signal) });
  return { wasmModel: r.model, loaded: r.loaded, cache: undefined, name };
}

/**
 * A split model: every shard loaded (and cached) as a file of its own, `SHARD_PARALLELISM`
 * at a time, then validated together. Progress adds the shards up.
 */
async function loadShards(memory, sources, options, progress) {
  if (options.integrity !== undefined) {
    throw new WasmChordError('INVALID_OPTION', 'integrity names one file; a split model has several (load its shards without it)');
  }
  const n = sources.length;
  const loaded = new Array(n).fill(0);
  const totals = new Array(n).fill(undefined);
  const sum = (xs) => xs.reduce((a, b) => a + (b ?? 0), 0);
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const shardProgress = (i) => (phase, bytes, extra = {}) => {
    if (phase === 'prepare') return;
    if (phase === 'download' || phase === 'header') {
      loaded[i] = bytes;
      if (extra.total !== undefined) totals[i] = extra.total;
    }
    const total = totals.every((t) => t !== undefined) ? sum(totals) : undefined;
    progress(phase, sum(loaded), { ...extra, total, shard: i, shards: n });
  };
  const results = new Array(n);
  let next = 0;
  let failure = null;
  const run = async () => {
    while (next < n && !failure) {
      const i = next++;
      try {
        results[i] = await loadOne(memory, sources[i], { ...options, signal: stop.signal }, shardProgress(i), (l) => l.finish_shard());
      } catch (e) {
        failure ??= e;
        stop.abort(e);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(SHARD_PARALLELISM, n) }, run));
    if (options.signal?.aborted) throw abortError(options.signal);
    if (failure) throw failure;
    progress('prepare', sum(loaded), { total: sum(loaded), shards: n });
    await yieldToEventLoop();
    let set;
    try { set = new WasmShardSet(options.contextLength); } catch (e) { throw fromWasm(e); }
    try {
      const cacheInfos = results.map((r) => r.cache);
      for (const [i, r] of results.entries()) {
        // add() takes the shard over: it is not ours to free any more.
        set.add(r.wasmModel, r.name ?? String(sources[i]));
        results[i] = null;
      }
      const wasmModel = set.finish();
      return { wasmModel, loaded: sum(loaded), cache: combineCache(cacheInfos) };
    } catch (e) { throw fromWasm(e); } finally { set.free(); }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    for (const r of results) r?.wasmModel?.free();
  }
}

/** A split model's cache status: 'hit' when every shard was, 'off' when any was not cached. */
function combineCache(list) {
  if (list.every((c) => c === undefined)) return undefined;
  const off = list.find((c) => c?.status !== 'hit' && c?.status !== 'stored');
  if (off) return { status: 'off', reason: off?.reason ?? 'a shard was not given by URL' };
  if (list.every((c) => c.status === 'hit')) return { status: 'hit', revalidation: list[0].revalidation };
  return { status: 'stored' };
}

/** Non-URL sources: `{ stream, total, name }`. */
function openSource(source) {
  if (typeof Response !== 'undefined' && source instanceof Response) {
    const name = source.url || 'response';
    if (!source.ok) throw new WasmChordError('FETCH_FAILED', `fetching ${name} failed: HTTP ${source.status} ${source.statusText}`);
    if (!source.body) throw new WasmChordError('FETCH_FAILED', `fetching ${name} gave no body`);
    return { stream: source.body, total: validators(source).size, name };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { stream: source.stream(), total: source.size, name: source.name ?? 'blob' };
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    const stream = new ReadableStream({ start(c) { c.enqueue(bytes); c.close(); } });
    return { stream, total: bytes.byteLength, name: 'bytes' };
  }
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) {
    return { stream: source, total: undefined, name: 'stream' };
  }
  throw new WasmChordError('INVALID_SOURCE',
    'Model.load: source must be a URL string, URL, Response, Blob/File, ArrayBuffer, Uint8Array or ReadableStream<Uint8Array>');
}

/** A plain stream as load events (see download.js); a broken stream is a truncated file. */
async function* streamEvents(stream, name, total, signal) {
  const reader = stream.getReader();
  const onAbort = () => { reader.cancel(signal.reason).catch(() => {}); };
  signal?.addEventListener('abort', onAbort, { once: true });
  let loaded = 0;
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (signal?.aborted) throw abortError(signal);
        const of = total !== undefined ? ` of ${total}` : '';
        throw new WasmChordError('GGUF_TRUNCATED', `${name}: download ended after ${loaded}${of} bytes (${e?.message ?? e})`, { cause: e });
      }
      if (chunk.done) return;
      if (!chunk.value?.byteLength) continue;
      loaded += chunk.value.byteLength;
      yield { type: 'chunk', value: chunk.value };
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.cancel().catch(() => {});
  }
}

/**
 * Feeds load events into a WasmLoader (a fresh one after each restart), writing each chunk to
 * `writer` too. Checks the checksums against `expect` ({ xxh3?, sha256? }) before building.
 * Returns `{ model, loaded, digests, validators }`.
 */
async function feed({ memory, progress, signal, contextLength, sha256, name, total, events, writer, expect = {}, from = 'network', finish = (l) => l.finish() }) {
  let loader = null;
  let loaded = 0;
  let reported = -1;
  let latest;
  const fresh = (size) => {
    loader?.free();
    loader = null;
    // XXH3 only for a cache entry being written or checked: it costs a pass over the file.
    const xxh3 = !!writer || expect.xxh3 !== undefined;
    try { loader = new WasmLoader(size, contextLength, xxh3, sha256 !== undefined); } catch (e) { throw fromWasm(e); }
    loaded = 0;
  };
  try {
    fresh(total);
    // Progress stays monotone across restarts: it waits until the new attempt passes it.
    const report = (phase) => {
      if (phase === 'download' && loaded <= reported) return;
      if (phase === 'download') reported = loaded;
      progress(phase, loaded, { total, from });
    };
    progress('download', 0, { total, from });
    reported = 0;
    for await (const ev of events) {
      if (signal?.aborted) throw abortError(signal);
      if (ev.type === 'response') {
        latest = ev.validators;
        if (ev.validators.size !== undefined && ev.validators.size !== total) { total = ev.validators.size; fresh(total); }
      } else if (ev.type === 'restart') {
        fresh(total);
        writer?.restart();
        progress('retry', loaded, { total, from, reason: ev.reason, restart: true });
      } else if (ev.type === 'retry') {
        progress('retry', ev.offset, { total, from, reason: ev.reason, attempt: ev.attempt });
      } else {
        const { value } = ev;
        let status;
        try {
          // One copy: the chunk goes straight into the buffer that becomes the model's memory.
          const ptr = loader.reserve(value.byteLength);
          new Uint8Array(memory.buffer, ptr, value.byteLength).set(value);
          status = loader.commit();
        } catch (e) { throw fromWasm(e); }
        loaded += value.byteLength;
        const wait = writer?.write(value);
        if (status === STATUS_HEADER_READY) report('header');
        report('download');
        if (wait) await wait;
      }
    }
    if (signal?.aborted) throw abortError(signal);
    const digests = loader.digests();
    if (expect.xxh3 !== undefined && digests.xxh3 !== expect.xxh3) {
      throw new CacheDamaged(`the bytes' XXH3 is ${digests.xxh3}, the cache record says ${expect.xxh3}`);
    }
    if (sha256 !== undefined && digests.sha256 !== sha256) {
      if (from === 'cache') throw new CacheDamaged(`the cached file's sha256 is ${digests.sha256}, integrity asks for ${sha256}`);
      throw new WasmChordError('INTEGRITY_MISMATCH', `${name}: sha256 of the ${loaded} bytes is sha256-${digests.sha256}, integrity expects sha256-${sha256}`);
    }
    progress('prepare', loaded, { total, from });
    await yieldToEventLoop();
    let model;
    try { model = finish(loader); } catch (e) { throw fromWasm(e); }
    return { model, loaded, digests, validators: latest };
  } finally {
    loader?.free();
  }
}

/** A cache entry that did not survive: it is deleted and the file fetched again. */
class CacheDamaged extends Error {}

async function revalidate(url, record, signal) {
  const headers = {};
  if (record.etag) headers['If-None-Match'] = record.etag;
  if (record.lastModified) headers['If-Modified-Since'] = record.lastModified;
  const method = Object.keys(headers).length ? 'GET' : 'HEAD';
  let res;
  try {
    res = await fetch(url, { method, headers, signal, cache: 'no-store' });
  } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    return { fresh: true, how: `offline (${e?.message ?? e})` };
  }
  if (res.status === 304) return { fresh: true, how: 'not modified' };
  if (!res.ok) {
    res.body?.cancel().catch(() => {});
    return { fresh: true, how: `the server answered HTTP ${res.status}` };
  }
  const v = validators(res);
  const same = v.size === record.size && v.etag === record.etag && v.lastModified === record.lastModified;
  if (same || method === 'HEAD') res.body?.cancel().catch(() => {});
  if (same) return { fresh: true, how: 'unchanged' };
  return { fresh: false, response: method === 'GET' ? res : null };
}

async function loadUrl(url, opts) {
  const { progress, signal } = opts;
  let store = null;
  let reason;
  if (!opts.cache) reason = 'cache: false';
  else {
    try { store = await openStore({ cacheDir: opts.cacheDir }); } catch (e) { reason = `no persistent storage: ${e?.message ?? e}`; }
  }
  const key = cache_key(url);
  let first = null;
  if (store) {
    let entry = null;
    try { entry = await store.lookup(key); } catch (e) { reason = `the cache could not be read: ${e?.message ?? e}`; store = null; }
    // An entry verified against another integrity than the one asked is not this file.
    const integrityDiffers = entry && opts.sha256 !== undefined && entry.record.sha256 !== undefined && entry.record.sha256 !== opts.sha256;
    if (entry && !integrityDiffers) {
      const check = await revalidate(url, entry.record, signal);
      if (check.fresh) {
        try {
          const { stream, total } = entry.open();
          const sha256 = entry.record.sha256 === opts.sha256 ? undefined : opts.sha256;
          const r = await feed({
            ...opts, sha256, name: url, total, from: 'cache',
            events: streamEvents(stream, url, total, signal),
            expect: { xxh3: entry.record.xxh3 },
          });
          return { wasmModel: r.model, loaded: r.loaded, name: url, cache: { status: 'hit', revalidation: check.how } };
        } catch (e) {
          if (signal?.aborted) throw abortError(signal);
          await store.delete(key).catch(() => {});
          progress('cache', 0, { cached: false, reason: `the cached copy is damaged (${fromWasm(e)?.message ?? e}); downloading again` });
        }
      } else first = check.response;
    }
  }
  let writer = null;
  if (store) {
    try {
      writer = await store.writer(key);
      // Without it the browser may evict the model under storage pressure.
      globalThis.navigator?.storage?.persist?.().catch?.(() => {});
    } catch (e) { reason = `the cache could not be written: ${e?.message ?? e}`; }
  }
  let r;
  try {
    r = await feed({
      ...opts, name: url, total: undefined, writer,
      events: resumableBody(url, { signal, stallTimeout: opts.stallTimeout, retries: opts.retries, first, name: url }),
    });
  } catch (e) {
    await writer?.abort();
    throw e;
  }
  if (!writer) {
    progress('cache', r.loaded, { cached: false, reason });
    return { wasmModel: r.model, loaded: r.loaded, name: url, cache: { status: 'off', reason } };
  }
  const v = r.validators ?? {};
  try {
    await writer.commit({
      version: 1, url, size: r.loaded, etag: v.etag, lastModified: v.lastModified,
      xxh3: r.digests.xxh3, sha256: r.digests.sha256, storedAt: new Date().toISOString(),
    });
    return { wasmModel: r.model, loaded: r.loaded, name: url, cache: { status: 'stored' } };
  } catch (e) {
    await writer.abort();
    await store.delete(key).catch(() => {});
    reason = `the cache could not be written: ${e?.name === 'QuotaExceededError' ? 'storage quota exceeded' : e?.message ?? e}`;
    progress('cache', r.loaded, { cached: false, reason });
    return { wasmModel: r.model, loaded: r.loaded, name: url, cache: { status: 'off', reason } };
  }
}
