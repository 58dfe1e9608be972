// A small static server for the demo, the browser tests and the benchmarks: 127.0.0.1 only,
// COOP/COEP headers (cross-origin isolation, for SharedArrayBuffer and threads), an exact
// Content-Length on every file, and `mounts` mapping URL prefixes to directories or files.
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
      try { st = statSync(index); return send(res, index, st, req.method); } catch { st = null; }
    }
    if (!st?.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found');
    }
    send(res, file, st, req.method);
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

function send(res, file, st, method) {
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': st.size });
  if (method === 'HEAD') return res.end();
  createReadStream(file).pipe(res);
}
