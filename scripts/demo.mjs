// Serves the demo chat: www/ at /, the built package at /pkg/, the model at
// /models/default.gguf, on 127.0.0.1:$PORT (default 8080) with COOP/COEP headers.
// Usage: node scripts/demo.mjs MODEL.gguf   (npm start builds, fetches and runs this)
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/serve.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const model = process.argv[2];
if (!model || !existsSync(model)) {
  console.error(`usage: node scripts/demo.mjs MODEL.gguf (got ${model ?? 'nothing'}); npm start fetches the default model`);
  process.exit(2);
}
if (!existsSync(join(root, 'pkg', 'index.js'))) {
  console.error('pkg/ is not built: run `npm run build` (npm start does)');
  process.exit(2);
}
const port = Number(process.env.PORT ?? 8080);
const server = await serve({
  port,
  mounts: { '/': join(root, 'www'), '/pkg': join(root, 'pkg'), '/models/default.gguf': model },
});
console.log(`wasm-chord demo: ${server.url}/  (model ${model}; Ctrl+C to stop)`);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close().then(() => process.exit(0)));
