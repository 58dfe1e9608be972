// Writes a GGUF file as llama.cpp's gguf-split does (`name-00001-of-0000N.gguf`, `split.no`,
// `split.count`, `split.tensors.count`; the first shard keeps the metadata): for hosts that
// cap file sizes, and for the tests. The plan comes from the package's own reader (only the
// header goes into wasm memory); the tensor bytes are copied file to file, so any size works.
//
//   npm run split -- FILE.gguf [--max-size 100M] [--out PREFIX]
//   (--max-size: tensor data per shard, K/M/G = 2^10/2^20/2^30; default 2G, under the 2 GiB
//   that many static hosts and CDNs cap a file at. PREFIX defaults to FILE without .gguf.)
import { openSync, closeSync, readSync, writeSync, ftruncateSync, fstatSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(String(s).trim());
  if (!m) throw new Error(`--max-size: ${JSON.stringify(s)} is not a size like 100M`);
  const scale = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[m[2].toUpperCase()];
  return Math.floor(Number(m[1]) * scale);
}

/** Splits `file` into shards of at most `maxBytes` of tensor data; returns the shard paths. */
export async function splitGguf(file, maxBytes, prefix = file.replace(/\.gguf$/i, '')) {
  if (!existsSync(join(ROOT, 'pkg', 'index.js'))) {
    // The reader is the package's: build it first (as `npm run build` does).
    execFileSync('bash', ['scripts/setup.sh', 'wasm', 'npm'], { cwd: ROOT, stdio: 'inherit' });
    execFileSync('node', ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  }
  const { initWasm } = await import(pathToFileURL(join(ROOT, 'pkg', 'index.js')).href);
  const { split_plan: splitPlan } = await import(pathToFileURL(join(ROOT, 'pkg', 'wasm_chord.js')).href);
  await initWasm();
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    let want = Math.min(size, 1 << 20);
    let plan;
    for (;;) {
      const prefixBytes = Buffer.alloc(want);
      const got = readSync(fd, prefixBytes, 0, want, 0);
      plan = splitPlan(prefixBytes.subarray(0, got), maxBytes);
      if (plan.needMore === undefined) break;
      if (want >= size) throw new Error(`${file}: the header does not end within the file`);
      want = Math.min(size, Math.max(plan.needMore, want * 2));
    }
    const n = plan.shards.length;
    const paths = [];
    const buf = Buffer.alloc(8 << 20);
    for (const [i, shard] of plan.shards.entries()) {
      const path = `${prefix}-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.gguf`;
      const out = openSync(path, 'w');
      try {
        writeSync(out, shard.header, 0, shard.header.length, 0);
        for (const [start, end, dst] of shard.copies) {
          for (let at = start; at < end;) {
            const len = Math.min(buf.length, end - at);
            const r = readSync(fd, buf, 0, len, at);
            if (r !== len) throw new Error(`${file}: short read at ${at}`);
            writeSync(out, buf, 0, len, shard.header.length + dst + (at - start));
            at += len;
          }
        }
        // Alignment padding after the last tensor, as gguf-split writes it.
        ftruncateSync(out, shard.header.length + shard.dataLen);
      } finally { closeSync(out); }
      paths.push(path);
    }
    return paths;
  } finally { closeSync(fd); }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const opt = (k) => { const i = args.indexOf(k); if (i < 0) return undefined; const v = args[i + 1]; args.splice(i, 2); return v; };
  const max = parseSize(opt('--max-size') ?? '2G');
  const out = opt('--out');
  if (args.length !== 1) {
    console.error('usage: npm run split -- FILE.gguf [--max-size 100M] [--out PREFIX]');
    process.exit(2);
  }
  try {
    const paths = await splitGguf(args[0], max, out);
    for (const p of paths) console.log(p);
  } catch (e) {
    console.error(`split: ${e.code ? `[${e.code}] ` : ''}${e.message}`);
    process.exit(1);
  }
}
