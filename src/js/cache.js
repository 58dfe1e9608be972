// The persistent model cache: one entry per URL, a data file plus a small JSON record.
//
// Browsers: the Cache API, the body streamed into `cache.put` as it downloads — an entry
// becomes visible only once its body is complete. Chosen over OPFS by measurement (scripts/
// bench-storage.mjs, BENCHMARKS.md): it writes the default model faster than OPFS's
// createWritable or sync access handles, reads it back as fast, and exists wherever a
// secure context does. Node: a directory (default ~/.cache/wasm-chord/http, or
// $XDG_CACHE_HOME, or WASM_CHORD_CACHE_DIR, or the `cacheDir` option), written to `.part`
// then renamed.
//
// Entry record: { version, url, size, etag, lastModified, xxh3, sha256?, storedAt }. A record
// whose data file has another length is dropped; the XXH3 of the bytes is checked while they
// load (src/js/index.js), so an altered file is detected too and fetched again.

const RECORD_VERSION = 1;
const DIR_NAME = 'wasm-chord';
/** Writes queued beyond this are awaited, so a slow disk slows the download instead of filling memory. */
const MAX_QUEUED_BYTES = 16 << 20;

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

async function nodeModule(name) {
  const specifier = `node:${name}`;
  return process.getBuiltinModule?.(specifier) ?? import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);
}

/** Why a cache cannot be opened here, or null. */
export function cacheUnavailableReason() {
  if (isNode) return null;
  if (typeof caches === 'undefined') return 'this page has no Cache API (it needs a secure context: https or localhost)';
  return null;
}

/** Opens the cache store; throws (with the reason) when storage is unavailable. */
export async function openStore({ cacheDir } = {}) {
  const reason = cacheUnavailableReason();
  if (reason) throw new Error(reason);
  return isNode ? nodeStore(cacheDir) : cacheApiStore();
}

function validRecord(r) {
  return r && r.version === RECORD_VERSION && typeof r.url === 'string' && Number.isSafeInteger(r.size) && typeof r.xxh3 === 'string';
}

// ---------------------------------------------------------------- the Cache API (browsers)

/** The browser cache's name; entries are keyed `https://wasm-chord.invalid/<key>.gguf|.json`. */
export const BROWSER_CACHE_NAME = 'wasm-chord-models-v1';
const entryUrl = (key, ext) => `https://wasm-chord.invalid/${key}.${ext}`;

async function cacheApiStore() {
  const cache = await caches.open(BROWSER_CACHE_NAME);
  const readRecord = async (key) => {
    try { const r = await (await cache.match(entryUrl(key, 'json')))?.json(); return validRecord(r) ? r : null; } catch { return null; }
  };
  const store = {
    kind: 'cache-api',
    async lookup(key) {
      const record = await readRecord(key);
      const data = record && await cache.match(entryUrl(key, 'gguf'));
      if (!data?.body) {
        if (record) await store.delete(key);
        return null;
      }
      // A body shorter or longer than the record fails the load (GGUF_TRUNCATED / the XXH3).
      return { record, open: () => ({ stream: data.body, total: record.size }) };
    },
    async writer(key) {
      // The record goes first: from here until commit the entry does not exist.
      await cache.delete(entryUrl(key, 'json'));
      return streamingPut(cache, entryUrl(key, 'gguf'), async (record) => {
        await cache.put(entryUrl(key, 'json'), new Response(JSON.stringify(record), { headers: { 'Content-Type': 'application/json' } }));
      });
    },
    async delete(key) {
      await cache.delete(entryUrl(key, 'json'));
      await cache.delete(entryUrl(key, 'gguf'));
    },
    async list() {
      const out = [];
      for (const req of await cache.keys()) {
        const m = /\/([0-9a-f]{32})\.json$/.exec(req.url);
        const r = m && await readRecord(m[1]);
        if (r) out.push(r);
      }
      return out;
    },
    async usage() {
      const est = await navigator.storage?.estimate?.() ?? {};
      return { usage: est.usage, quota: est.quota };
    },
  };
  return store;
}

/**
 * A `cache.put` whose body is fed chunk by chunk while the download goes on: the browser
 * streams it to disk and makes the entry visible only when the body completes. `write`
 * returns a promise when more than MAX_QUEUED_BYTES wait to be written. A failed put (quota)
 * is kept: later writes are dropped and `commit` rethrows it.
 */
function streamingPut(cache, url, putRecord) {
  let failure = null;
  let wake = null;
  let cur = null; // { ctl, put }: the body being put now (a restart abandons it)
  const release = () => { wake?.(); wake = null; };
  const begin = () => {
    const gen = { ctl: null, put: null };
    const fail = (e) => { if (cur === gen) failure ??= e; release(); };
    const body = new ReadableStream({
      start(c) { gen.ctl = c; },
      pull: release,
      cancel(reason) { fail(reason ?? new Error('the cache write was cancelled')); },
    }, new ByteLengthQueuingStrategy({ highWaterMark: MAX_QUEUED_BYTES }));
    gen.put = cache.put(url, new Response(body, { headers: { 'Content-Type': 'application/octet-stream' } })).catch(fail);
    cur = gen;
  };
  const end = (reason) => {
    const gen = cur;
    cur = null;
    try { gen.ctl.error(reason); } catch { /* already closed */ }
    release();
    return gen.put;
  };
  begin();
  return {
    write(chunk) {
      if (failure) return undefined;
      try { cur.ctl.enqueue(chunk); } catch (e) { failure ??= e; return undefined; }
      return cur.ctl.desiredSize > 0 ? undefined : new Promise((r) => { wake = r; });
    },
    /** The download restarts from byte 0: the partial put is abandoned (it settles on its own). */
    restart() {
      if (failure) return;
      end(new Error('the download restarted'));
      begin();
    },
    async commit(record) {
      if (failure) throw failure;
      cur.ctl.close();
      await cur.put;
      if (failure) throw failure;
      await putRecord(record);
    },
    async abort() {
      if (cur) await end(new Error('the load failed'));
      await cache.delete(url).catch(() => {});
    },
  };
}

// ---------------------------------------------------------------- a directory (Node)

async function nodeStore(cacheDir) {
  const fs = await nodeModule('fs/promises');
  const path = await nodeModule('path');
  const os = await nodeModule('os');
  const env = process.env;
  const dir = cacheDir ?? env.WASM_CHORD_CACHE_DIR
    ?? path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), DIR_NAME, 'http');
  await fs.mkdir(dir, { recursive: true });
  const at = (name) => path.join(dir, name);
  const readRecord = async (key) => {
    try { const r = JSON.parse(await fs.readFile(at(`${key}.json`), 'utf8')); return validRecord(r) ? r : null; } catch { return null; }
  };
  const store = {
    kind: 'directory',
    dir,
    async lookup(key) {
      const record = await readRecord(key);
      let st = null;
      try { st = await fs.stat(at(`${key}.gguf`)); } catch { /* no data file */ }
      if (!record || !st || st.size !== record.size) {
        if (record || st) await store.delete(key);
        return null;
      }
      return { record, open: () => ({ stream: fileStream(fs, at(`${key}.gguf`)), total: st.size }) };
    },
    async writer(key) {
      await fs.rm(at(`${key}.json`), { force: true });
      const part = at(`${key}.gguf.part`);
      let fh = await fs.open(part, 'w');
      return queuedWriter({
        write: async (chunk) => { await fh.write(chunk); },
        truncate: async () => { await fh.truncate(0); await fh.close(); fh = await fs.open(part, 'w'); },
        async commit(record) {
          await fh.close();
          await fs.rename(part, at(`${key}.gguf`));
          const tmp = at(`${key}.json.part`);
          await fs.writeFile(tmp, JSON.stringify(record));
          await fs.rename(tmp, at(`${key}.json`));
        },
        async abort() { await fh.close().catch(() => {}); await fs.rm(part, { force: true }); },
      });
    },
    async delete(key) {
      await fs.rm(at(`${key}.json`), { force: true });
      await fs.rm(at(`${key}.gguf`), { force: true });
    },
    async list() {
      const out = [];
      for (const name of await fs.readdir(dir)) {
        if (!name.endsWith('.json')) continue;
        const r = await readRecord(name.slice(0, -5));
        if (r) out.push(r);
      }
      return out;
    },
    async usage() {
      try {
        const s = await fs.statfs(dir);
        return { usage: undefined, quota: s.bavail * s.bsize };
      } catch { return {}; }
    },
  };
  return store;
}

function fileStream(fs, file) {
  let fh = null;
  return new ReadableStream({
    async pull(c) {
      fh ??= await fs.open(file, 'r');
      const buf = new Uint8Array(4 << 20);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) { await fh.close(); fh = null; c.close(); return; }
      c.enqueue(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    },
    async cancel() { await fh?.close(); fh = null; },
  });
}

/**
 * Writes in order without awaiting each one (the download goes on meanwhile); `write` returns
 * a promise only when too much is queued. The first failure is kept: later writes are
 * dropped and `commit` rethrows it.
 */
function queuedWriter(ops) {
  let chain = Promise.resolve();
  let queued = 0;
  let failure = null;
  const run = (f) => {
    chain = chain.then(() => (failure ? undefined : f())).catch((e) => { failure ??= e; });
    return chain;
  };
  return {
    write(chunk) {
      if (failure) return undefined;
      queued += chunk.byteLength;
      const done = run(async () => { await ops.write(chunk); queued -= chunk.byteLength; });
      return queued > MAX_QUEUED_BYTES ? done : undefined;
    },
    /** The download restarts from byte 0. */
    restart() { run(() => ops.truncate()); },
    get failure() { return failure; },
    async commit(record) {
      await chain;
      if (failure) throw failure;
      await ops.commit(record);
    },
    async abort() {
      await chain;
      await ops.abort().catch(() => {});
    },
  };
}
