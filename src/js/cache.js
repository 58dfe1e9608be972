// The persistent model cache: one entry per URL, a data file plus a small JSON record.
//
// Browsers: the Origin Private File System (navigator.storage.getDirectory), written with
// createWritable — a swap file that replaces the entry only on close(), so a half-written
// entry is never visible — and read back as a File (measured against the Cache API in
// BENCHMARKS.md). Node: a directory (default ~/.cache/wasm-chord/http, or $XDG_CACHE_HOME,
// or WASM_CHORD_CACHE_DIR, or the `cacheDir` option), written to `.part` then renamed.
//
// Entry record: { version, url, size, etag, lastModified, xxh3, sha256?, storedAt }. A record
// whose data file has another length is dropped; the XXH3 of the bytes is checked while they
// load (src/js/index.js), so an altered file is detected too and fetched again.

const RECORD_VERSION = 1;
const DIR_NAME = 'wasm-chord';
/** Writes queued beyond this are awaited, so a slow disk slows the download instead of filling memory. */
const MAX_QUEUED_BYTES = 64 << 20;

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

async function nodeModule(name) {
  const specifier = `node:${name}`;
  return process.getBuiltinModule?.(specifier) ?? import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);
}

/** Why a cache cannot be opened here, or null. */
export function cacheUnavailableReason() {
  if (isNode) return null;
  if (typeof navigator === 'undefined' || !navigator.storage?.getDirectory) return 'this browser has no Origin Private File System (navigator.storage.getDirectory)';
  if (typeof FileSystemFileHandle === 'undefined' || !('createWritable' in FileSystemFileHandle.prototype)) {
    return 'this browser cannot write OPFS files from this context (FileSystemFileHandle.createWritable)';
  }
  return null;
}

/** Opens the cache store; throws (with the reason) when storage is unavailable. */
export async function openStore({ cacheDir } = {}) {
  const reason = cacheUnavailableReason();
  if (reason) throw new Error(reason);
  return isNode ? nodeStore(cacheDir) : opfsStore();
}

function validRecord(r) {
  return r && r.version === RECORD_VERSION && typeof r.url === 'string' && Number.isSafeInteger(r.size) && typeof r.xxh3 === 'string';
}

// ---------------------------------------------------------------- OPFS (browsers)

async function opfsStore() {
  const root = await navigator.storage.getDirectory();
  const dir = await root.getDirectoryHandle(DIR_NAME, { create: true });
  const file = async (name, create = false) => {
    try { return await dir.getFileHandle(name, { create }); } catch (e) { if (e?.name === 'NotFoundError') return null; throw e; }
  };
  const remove = async (name) => { try { await dir.removeEntry(name); } catch (e) { if (e?.name !== 'NotFoundError') throw e; } };
  const readRecord = async (key) => {
    const h = await file(`${key}.json`);
    if (!h) return null;
    try { const r = JSON.parse(await (await h.getFile()).text()); return validRecord(r) ? r : null; } catch { return null; }
  };
  const store = {
    kind: 'opfs',
    async lookup(key) {
      const record = await readRecord(key);
      const h = record && await file(`${key}.gguf`);
      const data = h && await h.getFile();
      if (!data || data.size !== record.size) {
        if (record || data) await store.delete(key);
        return null;
      }
      return { record, open: () => ({ stream: data.stream(), total: data.size }) };
    },
    async writer(key) {
      // The record goes first: from here until commit the entry does not exist.
      await remove(`${key}.json`);
      const w = await (await file(`${key}.gguf`, true)).createWritable({ keepExistingData: false });
      return queuedWriter({
        write: (chunk) => w.write(chunk),
        truncate: () => w.truncate(0).then(() => w.seek(0)),
        async commit(record) {
          await w.close();
          const rw = await (await file(`${key}.json`, true)).createWritable({ keepExistingData: false });
          await rw.write(JSON.stringify(record));
          await rw.close();
        },
        abort: () => w.abort(),
      });
    },
    async delete(key) {
      await remove(`${key}.json`);
      await remove(`${key}.gguf`);
    },
    async list() {
      const out = [];
      for await (const [name] of dir.entries()) {
        if (!name.endsWith('.json')) continue;
        const r = await readRecord(name.slice(0, -5));
        if (r) out.push(r);
      }
      return out;
    },
    async usage() {
      const est = await navigator.storage.estimate?.() ?? {};
      return { usage: est.usage, quota: est.quota };
    },
  };
  return store;
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
