// Runs in the benchmark page (scripts/bench/e2e-page.html), one engine per fresh browser:
// load (fetch start → ready), then one greedy generation of `nGen` tokens after the prompt,
// timed the same way for every engine (performance.now() on the page, streaming callbacks).
//
//   load_ms    from just before the engine's load call (wasm fetch + compile included) to ready
//   load_store_ms  (wasm-chord from the cache) the first load, which also writes the cache
//   ttft_ms    from the generate call to the first streamed token (prefill + first sampling)
//   prefill    prompt tokens / the engine's own prompt-evaluation time
//   decode     (tokens − 1) / (last token − first token), wall clock on the page
//   wasmMem    WebAssembly.Memory size after the run (wasm-chord only: wllama's is in a worker)
// `hook` (verbose mode): called when the first token arrives and at the end, to profile decode.

export async function webgpuAdapter() {
  try {
    const a = await navigator.gpu?.requestAdapter();
    return a ? (a.info?.vendor || 'yes') : null;
  } catch { return null; }
}

export async function runChord({ modelUrl, prompt, nGen, nCtx, hook, backend = 'cpu', pkg = '/pkg', cache = false }) {
  const { Model, initWasm, version } = await import(`${pkg}/index.js`);
  // Network loads are measured uncached (as wllama's, useCache: false); `cache`: a first load
  // fills the persistent cache (timed as load_store_ms), the measured one reads from it.
  let loadStoreMs;
  if (cache) {
    await Model.clearCache();
    const t = performance.now();
    const first = await Model.load(modelUrl, { contextLength: nCtx, backend });
    loadStoreMs = performance.now() - t;
    if (first.info.cache?.status !== 'stored') throw new Error(`the first load was not cached: ${JSON.stringify(first.info.cache)}`);
    first.dispose();
  }
  const t0 = performance.now();
  const model = await Model.load(modelUrl, { contextLength: nCtx, backend, cache });
  const tReady = performance.now();
  if (cache && model.info.cache?.status !== 'hit') throw new Error(`the second load did not come from the cache: ${JSON.stringify(model.info.cache)}`);
  const promptTokens = model.tokenize(prompt).length;
  const times = [];
  const t1 = performance.now();
  const r = await model.generate(prompt, { maxTokens: nGen, temperature: 0, ignoreEos: true, onToken: () => { if (!times.length) hook?.('generate'); times.push(performance.now()); } });
  const t2 = performance.now();
  await hook?.('done');
  const wasm = await initWasm();
  const out = {
    engine: 'wasm-chord', version: version(), threads: 1, backend: model.info.backend, backendReason: model.info.backendReason,
    load_ms: tReady - t0, load_store_ms: loadStoreMs, ttft_ms: times[0] - t1, total_ms: t2 - t1,
    promptTokens, promptTokensReported: r.promptTokens, nGen: r.tokens.length,
    prefill_tps: r.timings.prefillTokensPerSecond,
    decode_tps: (times.length - 1) * 1e3 / (times[times.length - 1] - times[0]),
    engine_decode_tps: r.timings.decodeTokensPerSecond,
    prefill_ms: r.timings.prefillMs, decode_ms: r.timings.decodeMs,
    wasmMem: wasm.memory.buffer.byteLength, kvCacheBytes: model.info.kvCacheBytes, architecture: model.info.architecture, tokens: r.tokens.slice(0, 16),
    text: r.text.slice(0, 80),
  };
  model.dispose();
  return out;
}

export async function runWllama({ modelUrl, prompt, nGen, nCtx, threads }) {
  const { Wllama } = await import('/node_modules/@wllama/wllama/esm/index.js');
  const quiet = { debug() {}, log() {}, warn() {}, error: console.error };
  const t0 = performance.now();
  const w = new Wllama({ default: '/node_modules/@wllama/wllama/esm/wasm/wllama.wasm' }, { suppressNativeLog: true, logger: quiet });
  await w.loadModelFromUrl(modelUrl, { useCache: false, n_threads: threads, n_ctx: nCtx, n_batch: nCtx, n_gpu_layers: 0 });
  const tReady = performance.now();
  const times = [];
  let last = null, text = '';
  const t1 = performance.now();
  await w.createCompletion({
    prompt, max_tokens: nGen, temperature: 0, temp: 0, top_k: 1, ignore_eos: true, stream: true,
    onData: (chunk) => {
      const piece = chunk.choices?.[0]?.text;
      if (piece !== undefined) times.push(performance.now());
      if (piece) text += piece;
      if (chunk.timings) last = chunk;
    },
  });
  const t2 = performance.now();
  const tm = last?.timings ?? {};
  const out = {
    engine: 'wllama', version: Wllama.getLibllamaVersion?.() ?? '?', threads: w.getNumThreads?.() ?? threads,
    multithread: w.isMultithread?.() ?? null, load_ms: tReady - t0, ttft_ms: times[0] - t1, total_ms: t2 - t1,
    promptTokens: tm.prompt_n ?? last?.usage?.prompt_tokens, promptTokensReported: last?.usage?.prompt_tokens,
    nGen: tm.predicted_n ?? last?.usage?.completion_tokens, chunks: times.length,
    prefill_tps: tm.prompt_per_second, engine_decode_tps: tm.predicted_per_second,
    decode_tps: (times.length - 1) * 1e3 / (times[times.length - 1] - times[0]),
    prefill_ms: tm.prompt_ms, decode_ms: tm.predicted_ms, wasmMem: null, text: text.slice(0, 80),
  };
  await w.exit();
  return out;
}
