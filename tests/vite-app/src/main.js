// A minimal consumer app: what a developer writes after `npm install wasm-chord`.
import { Model } from 'wasm-chord';
import { WorkerModel } from 'wasm-chord/worker';

const out = document.getElementById('out');
const params = new URLSearchParams(location.search);
const url = params.get('model') ?? '/models/gemma.gguf';
const prompt = params.get('prompt') ?? 'Hello';

async function run() {
  const page = await Model.load(url, { contextLength: 256 });
  const a = await page.generate(prompt, { maxTokens: 8 });
  page.dispose();
  const worker = await WorkerModel.load(url, { contextLength: 256 });
  const b = await worker.generate(prompt, { maxTokens: 8 });
  worker.dispose();
  return { page: a.tokens, worker: b.tokens, text: a.text };
}

window.result = run().then(
  (r) => { out.textContent = JSON.stringify(r); return r; },
  (e) => { out.textContent = `${e.code}: ${e.message}`; throw e; },
);
