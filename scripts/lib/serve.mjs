// A small static server for the demo, the browser tests and the benchmarks: 127.0.0.1 only,
// COOP/COEP headers (cross-origin isolation, for SharedArrayBuffer and threads), an exact
// Content-Length, validators and byte ranges on every file (sendFile), and `mounts` mapping
// URL prefixes to directories or files.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ts': 'text/plain; charset=utf-8', '.gguf': 'application/octet-stream', '.md': 'text/plain; charset=utf-8',
};

/**
 * @param {{ port?: number, mounts: Record<string, string>, routes?: Record<string, (req, res) => void>, log?: boolean }} opts
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void> }>}
 */
export function serve({ port = 0, mounts, routes = {}, log = false }) {
  const server = createServer((req, res) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (log) console.error(`${req.method} ${path}`);
    if (routes[path]) return routes[path](req, res);
    const file = resolve(mounts, path);
    let st;
    try { st = file && statSync(file); } catch { st = null; }
    if (st?.isDirectory()) {
      const index = join(file, 'index.html');
      try { st = statSync(index); return sendFile(req, res, index, st); } catch { st = null; }
    }
    if (!st?.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found');
    }
    sendFile(req, res, file, st);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      resolvePromise({
        url: `http://127.0.0.1:${p}`,
        port: p,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

function resolve(mounts, path) {
  // Longest prefix first, so '/pkg/' wins over '/'.
  for (const prefix of Object.keys(mounts).sort((a, b) => b.length - a.length)) {
    if (path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : prefix + '/')) {
      const target = mounts[prefix];
      const rest = path.slice(prefix.length);
      if (!rest || rest === '/') return target;
      const full = normalize(join(target, rest));
      // No escaping the mounted directory with '..'.
      if (full !== target && !full.startsWith(target.endsWith(sep) ? target : target + sep)) return null;
      return full;
    }
  }
  return null;
}

/**
 * A file with what resumable, cached downloads need: a strong ETag and Last-Modified (so a
 * client can revalidate with If-None-Match / If-Modified-Since and get a 304), and single byte
 * ranges (`Range: bytes=N-` / `bytes=N-M`, honoured only while `If-Range` still matches).
 * `opts.ranges: false` serves as a server without range support would.
 */
export function sendFile(req, res, file, st = statSync(file), opts = {}) {
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}${opts.etagSuffix ?? ''}"`;
  const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
  const headers = { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ETag: etag, 'Last-Modified': lastModified };
  if (opts.ranges !== false) headers['Accept-Ranges'] = 'bytes';
  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  if ((inm && inm.split(',').some((t) => t.trim() === etag)) || (!inm && ims && Date.parse(ims) >= Date.parse(lastModified))) {
    res.writeHead(304, { ETag: etag, 'Last-Modified': lastModified });
    return res.end();
  }
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  const range = opts.ranges !== false && /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  if (range && (!ifRange || ifRange === etag || ifRange === lastModified)) {
    start = Number(range[1]);
    if (range[2]) end = Math.min(end, Number(range[2]));
    if (start > end) {
      res.writeHead(416, { 'Content-Range': `bytes */${st.size}` });
      return res.end();
    }
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
  }
  headers['Content-Length'] = end - start + 1;
  res.writeHead(status, headers);
  if (req.method === 'HEAD') return res.end();
  const body = createReadStream(file, { start, end });
  opts.pipe ? opts.pipe(body, res, start) : body.pipe(res);
}
