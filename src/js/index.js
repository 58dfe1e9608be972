// wasm-chord's JavaScript entry point: `import { Model } from 'wasm-chord'`.
//
// A thin layer over the wasm-bindgen exports (wasm_chord.js): source normalisation, streaming
// the body into wasm memory chunk by chunk, progress and abort, step-wise generation that
// yields to the event loop between tokens, and errors with stable codes.

import init, { WasmModel, cache_key, version as wasmVersion } from './wasm_chord.js';
import { WasmChordError, abortError, fromWasm } from './errors.js';
import { loadModel, yieldToEventLoop, absoluteUrl } from './load.js';
import { openStore } from './cache.js';
import { checkOptions, LOAD_OPTIONS, TOKENIZE_OPTIONS, GENERATE_OPTIONS, TEMPLATE_OPTIONS, CHAT_OPTIONS, CACHE_OPTIONS } from './options.js';

export { WasmChordError };

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

let wasmReady = null;
let wasmExports = null;

/**
 * Initialises the wasm module. Called automatically by `Model.load`; call it yourself only to
 * load the .wasm from a custom place (a URL, Response, bytes or a compiled WebAssembly.Module).
 */
export function initWasm(moduleOrPath) {
  if (!wasmReady) {
    wasmReady = (async () => {
      let input = moduleOrPath;
      if (input === undefined && isNode) {
        // Node's fetch cannot read file: URLs; read the .wasm next to this file instead.
        // getBuiltinModule (Node ≥ 20.16) keeps `node:` imports out of browser bundles.
        const specifier = 'node:fs/promises';
        const fs = process.getBuiltinModule?.(specifier) ?? await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);
        input = await fs.readFile(new URL('./wasm_chord_bg.wasm', import.meta.url));
      }
      wasmExports = await init(input === undefined ? undefined : { module_or_path: input });
      return wasmExports;
    })();
    wasmReady.catch(() => { wasmReady = null; });
  }
  return wasmReady;
}

/** A loaded model. Create with `await Model.load(source, options)`. */
export class Model {
  #wasm;
  #busy = false;
  #info;
  #cache;

  /** @private use Model.load */
  constructor(wasmModel, cache) {
    this.#wasm = wasmModel;
    this.#cache = cache;
    this.#info = this.#withCache(wasmModel.info());
  }

  // info.cached and info.cache ({ status: 'hit'|'stored'|'off', reason? }) for URL loads.
  #withCache(info) {
    if (!this.#cache) return info;
    return { ...info, cached: this.#cache.status !== 'off', cache: this.#cache };
  }

  /**
   * Streams a GGUF file into wasm memory, validating the header as soon as it arrives. A URL
   * is cached (the Cache API in browsers, a directory in Node) as it downloads and read from there on
   * the next load; a dropped or stalled download resumes where it stopped.
   * @param {string|URL|Response|Blob|ArrayBuffer|Uint8Array|ReadableStream<Uint8Array>} source
   * @param {import('./index.d.ts').LoadOptions} [options]
   */
  static async load(source, options = {}) {
    checkOptions('Model.load', options, LOAD_OPTIONS);
    const { onProgress, signal, backend = 'auto' } = options ?? {};
    if (signal?.aborted) throw abortError(signal);
    const wasm = await initWasm();
    const progress = (phase, loaded, extra) => {
      try { onProgress?.({ phase, loaded, ...extra }); } catch { /* a UI bug must not break loading */ }
    };
    let wasmModel, loaded, cache;
    try {
      ({ wasmModel, loaded, cache } = await loadModel(wasm.memory, source, options, progress));
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      throw fromWasm(e);
    }
    try {
      if (backend !== 'cpu') {
        // 'auto' stays on the CPU (with the reason in info.backendReason) when WebGPU is
        // missing, software-only or too small for the model; 'webgpu' rejects instead.
        await wasmModel.enable_webgpu(backend === 'webgpu');
        if (signal?.aborted) throw abortError(signal);
      }
    } catch (e) {
      wasmModel.free();
      if (signal?.aborted) throw abortError(signal);
      throw fromWasm(e);
    }
    const model = new Model(wasmModel, cache);
    progress('ready', loaded, { total: loaded });
    return model;
  }

  /** The cached models: `[{ url, size, etag?, lastModified?, sha256?, storedAt }]`. */
  static async listCached(options = {}) {
    checkOptions('listCached', options, CACHE_OPTIONS);
    const store = await cacheStore(options);
    return (await store.list()).map(publicRecord);
  }

  /** Deletes `url`'s cached copy; resolves to whether there was one. */
  static async deleteCached(url, options = {}) {
    checkOptions('deleteCached', options, CACHE_OPTIONS);
    const store = await cacheStore(options);
    await initWasm();
    const key = cache_key(absoluteUrl(url));
    const had = (await store.list()).some((r) => r.url === absoluteUrl(url));
    await store.delete(key);
    return had;
  }

  /** Deletes every cached model. */
  static async clearCache(options = {}) {
    checkOptions('clearCache', options, CACHE_OPTIONS);
    const store = await cacheStore(options);
    await initWasm();
    for (const r of await store.list()) await store.delete(cache_key(r.url));
  }

  /** `{ bytes, models, usage?, quota? }`: what the cache holds, and the storage estimate (whole origin in browsers; free space in Node). */
  static async cacheUsage(options = {}) {
    checkOptions('cacheUsage', options, CACHE_OPTIONS);
    const store = await cacheStore(options);
    const list = await store.list();
    return { bytes: list.reduce((a, r) => a + r.size, 0), models: list.length, ...await store.usage() };
  }

  /** Architecture, name, sizes, tensor types, vocabulary, chat template, backend, memory. */
  get info() {
    return this.#info;
  }

  /** @returns {Uint32Array} */
  tokenize(text, options = {}) {
    const { addSpecial = true, parseSpecial = true } = checkOptions('tokenize', options, TOKENIZE_OPTIONS);
    if (typeof text !== 'string') throw new WasmChordError('INVALID_OPTION', `tokenize: text must be a string, not ${typeof text}`);
    try { return this.#live().tokenize(String(text), addSpecial, parseSpecial); } catch (e) { throw fromWasm(e); }
  }

  /** @param {ArrayLike<number>} ids */
  detokenize(ids) {
    if (!(ids instanceof Uint32Array) && !(Array.isArray(ids) && ids.every((t) => Number.isInteger(t) && t >= 0 && t < 2 ** 32))) {
      throw new WasmChordError('INVALID_OPTION', 'detokenize: ids must be a Uint32Array or an array of non-negative integer token ids');
    }
    try { return this.#live().detokenize(Uint32Array.from(ids)); } catch (e) { throw fromWasm(e); }
  }

  /**
   * Renders chat messages with the model's own template (or `options.template`), as
   * transformers' `apply_chat_template` does: `tools` and `templateVars` (e.g.
   * `{ enable_thinking: false }`, `{ date_string: '03 Dec 2026' }`) reach the template.
   */
  applyChatTemplate(messages, options = {}) {
    const { template, addGenerationPrompt = true, tools, templateVars } = checkOptions('applyChatTemplate', options, TEMPLATE_OPTIONS);
    if (!Array.isArray(messages)) throw new WasmChordError('INVALID_OPTION', 'applyChatTemplate: messages must be an array of { role, content } objects');
    try {
      return this.#live().apply_chat_template(messages, template, addGenerationPrompt, tools, templateVars);
    } catch (e) { throw fromWasm(e); }
  }

  /**
   * Generates a continuation of `prompt`.
   * Concurrency: one generation at a time per model; a second call while one runs rejects
   * with code BUSY (abort the first, or await it).
   */
  async generate(prompt, options = {}) {
    checkOptions('generate', options, GENERATE_OPTIONS);
    const tokens = [];
    let text = '';
    let last;
    for await (const ev of this.#run(prompt, options)) {
      if (ev.done) { last = ev; break; }
      tokens.push(ev.tokenId);
      text += ev.text;
    }
    return {
      text,
      tokens,
      promptTokens: last.promptTokens,
      finishReason: last.finishReason,
      timings: last.timings,
    };
  }

  /** `for await (const { text, tokenId } of model.stream(prompt, options))` — one event per token. */
  async *stream(prompt, options = {}) {
    checkOptions('stream', options, GENERATE_OPTIONS);
    for await (const ev of this.#run(prompt, options)) {
      if (ev.done) return;
      yield { text: ev.text, tokenId: ev.tokenId };
    }
  }

  /** Renders `messages` with the chat template, then generates. */
  async chat(messages, options = {}) {
    const { template, tools, templateVars, ...generateOptions } = checkOptions('chat', options, CHAT_OPTIONS);
    const prompt = this.applyChatTemplate(messages, { template, tools, templateVars, addGenerationPrompt: true });
    return this.generate(prompt, { ...generateOptions, parseSpecial: true });
  }

  async *#run(prompt, options) {
    const wasm = this.#live();
    if (this.#busy) throw new WasmChordError('BUSY', 'this model is already generating; await or abort the running call first');
    const { signal, onToken, onBackendChange } = options;
    if (signal?.aborted) throw abortError(signal);
    this.#busy = true;
    try {
      try {
        wasm.start(String(prompt), toWasmOptions(options));
      } catch (e) { throw fromWasm(e); }
      for (;;) {
        if (signal?.aborted) wasm.abort();
        let ev;
        try {
          // On WebGPU the evaluation is awaited first (the thread never blocks on the GPU);
          // the step then samples from its result.
          if (wasm.uses_gpu()) await wasm.gpu_prepare();
          if (signal?.aborted) wasm.abort();
          ev = wasm.step();
        } catch (e) { throw fromWasm(e); }
        if (ev.backendSwitch) {
          // The GPU was lost: the generation continues on the CPU.
          this.#info = this.#withCache(wasm.info());
          try { onBackendChange?.({ backend: this.#info.backend, reason: ev.backendSwitch }); } catch { /* a UI bug must not break generation */ }
        }
        if (!ev.done && !ev.pending) {
          if (onToken && onToken(ev.text, ev.tokenId) === false) wasm.abort();
          yield ev;
        } else if (ev.done) {
          yield ev;
          return;
        }
        await yieldToEventLoop();
      }
    } finally {
      try { wasm.abort(); wasm.step(); } catch { /* already finished */ }
      this.#busy = false;
    }
  }

  // Test and evaluation hooks, present only in a build with the `test-hooks` cargo feature
  // (`node scripts/build.mjs --profile test`); the published package has none of them.
  static {
    if (typeof WasmModel.prototype.argmax_all === 'function') {
      Object.defineProperties(Model.prototype, {
        /** Teacher forcing: the greedy next token after every prefix of `ids`, from an empty cache. */
        _argmaxAll: {
          async value(ids) {
            if (this.#busy) throw new WasmChordError('BUSY', 'this model is already generating; await or abort the running call first');
            this.#busy = true;
            try {
              return await this.#live().argmax_all(Uint32Array.from(ids));
            } catch (e) { throw fromWasm(e); } finally { this.#busy = false; }
          },
        },
        /** Destroys the WebGPU device as a driver reset would; false when not on WebGPU. */
        _simulateDeviceLoss: { value() { return this.#live().simulate_device_loss(); } },
        /** CPU-side figures of the last WebGPU pass ({bindGroupsHeld, bindGroupsCreated, encodeMs}). */
        _gpuStats: { value() { return this.#live().gpu_stats(); } },
      });
    }
  }

  /** Frees the model's memory. The object is unusable afterwards. */
  dispose() {
    if (this.#wasm) {
      this.#wasm.free();
      this.#wasm = null;
    }
  }

  #live() {
    if (!this.#wasm) throw new WasmChordError('DISPOSED', 'this model was disposed');
    return this.#wasm;
  }
}

const OPTION_NAMES = ['maxTokens', 'temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'presencePenalty',
  'frequencyPenalty', 'repeatLastN', 'seed', 'stop', 'ignoreEos', 'addSpecial', 'parseSpecial', 'reuseCache'];

function toWasmOptions(options) {
  const out = {};
  for (const k of OPTION_NAMES) if (options[k] !== undefined) out[k] = options[k];
  if (typeof out.stop === 'string') out.stop = [out.stop];
  return out;
}

export const version = () => wasmVersion();

async function cacheStore(options) {
  try {
    return await openStore({ cacheDir: options.cacheDir });
  } catch (e) {
    throw new WasmChordError('CACHE_UNAVAILABLE', `the model cache cannot be used here: ${e?.message ?? e}`, { cause: e });
  }
}

function publicRecord(r) {
  const { version: _, xxh3: __, ...rest } = r;
  return rest;
}
