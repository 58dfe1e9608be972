// wasm-chord's JavaScript entry point: `import { Model } from 'wasm-chord'`.
//
// A thin layer over the wasm-bindgen exports (wasm_chord.js): source normalisation, streaming
// the body into wasm memory chunk by chunk, progress and abort, step-wise generation that
// yields to the event loop between tokens, and errors with stable codes.

import init, { WasmLoader, WasmModel, version as wasmVersion } from './wasm_chord.js';

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

/** The error every wasm-chord failure is: `error.code` is stable, `error.message` names the culprit. */
export class WasmChordError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'WasmChordError';
    this.code = code;
  }
}

function fromWasm(e) {
  if (e instanceof WasmChordError) return e;
  if (e && typeof e === 'object' && typeof e.code === 'string') return new WasmChordError(e.code, e.message);
  if (e instanceof WebAssembly.RuntimeError) {
    return new WasmChordError('INTERNAL', `wasm-chord crashed (${e.message}); this is a bug, please report it`, { cause: e });
  }
  return e;
}

function abortError(signal) {
  const reason = signal?.reason;
  const detail = reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : '';
  return new WasmChordError('ABORTED', `aborted${detail}`);
}

/** Yields to the event loop (so abort signals, messages and rendering get a turn). */
const yieldToEventLoop = (() => {
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

/** Turns any supported source into `{ stream, total, name }`. */
async function openSource(source, signal) {
  if (typeof source === 'string' || source instanceof URL) {
    let res;
    try {
      res = await fetch(source, { signal });
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      throw new WasmChordError('FETCH_FAILED', `could not fetch ${source}: ${e.message}`, { cause: e });
    }
    return fromResponse(res, String(source));
  }
  if (typeof Response !== 'undefined' && source instanceof Response) return fromResponse(source, source.url || 'response');
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

function fromResponse(res, name) {
  if (!res.ok) throw new WasmChordError('FETCH_FAILED', `fetching ${name} failed: HTTP ${res.status} ${res.statusText}`);
  if (!res.body) throw new WasmChordError('FETCH_FAILED', `fetching ${name} gave no body`);
  // With a content encoding, Content-Length counts compressed bytes, not the file.
  const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const len = Number(res.headers.get('content-length'));
  const total = !encoded && Number.isSafeInteger(len) && len > 0 ? len : undefined;
  return { stream: res.body, total, name };
}

const STATUS_HEADER_READY = 1;

/** A loaded model. Create with `await Model.load(source, options)`. */
export class Model {
  #wasm;
  #busy = false;
  #info;

  /** @private use Model.load */
  constructor(wasmModel) {
    this.#wasm = wasmModel;
    this.#info = wasmModel.info();
  }

  /**
   * Streams a GGUF file into wasm memory, validating the header as soon as it arrives.
   * @param {string|URL|Response|Blob|ArrayBuffer|Uint8Array|ReadableStream<Uint8Array>} source
   * @param {{onProgress?: (p: {phase: string, loaded: number, total?: number}) => void,
   *          signal?: AbortSignal, backend?: 'auto'|'cpu'|'webgpu', contextLength?: number,
   *          size?: number}} [options]
   */
  static async load(source, options = {}) {
    const { onProgress, signal, contextLength, backend = 'auto' } = options;
    if (!['auto', 'cpu', 'webgpu'].includes(backend)) {
      throw new WasmChordError('INVALID_OPTION', `backend must be 'auto', 'cpu' or 'webgpu', not ${JSON.stringify(backend)}`);
    }
    if (signal?.aborted) throw abortError(signal);
    const wasm = await initWasm();
    const { stream, total: advertised, name } = await openSource(source, signal);
    const total = advertised ?? (Number.isSafeInteger(options.size) ? options.size : undefined);
    const progress = (phase, loaded) => { try { onProgress?.({ phase, loaded, total }); } catch { /* a UI bug must not break loading */ } };

    let loader;
    try {
      loader = new WasmLoader(total, contextLength);
    } catch (e) { throw fromWasm(e); }
    const reader = stream.getReader();
    const onAbort = () => { reader.cancel(signal.reason).catch(() => {}); };
    signal?.addEventListener('abort', onAbort, { once: true });
    let loaded = 0;
    try {
      progress('download', 0);
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (signal?.aborted) throw abortError(signal);
          // The connection broke: the file is incomplete.
          const of = total !== undefined ? ` of ${total}` : '';
          throw new WasmChordError('GGUF_TRUNCATED', `${name}: download ended after ${loaded}${of} bytes (${e?.message ?? e})`, { cause: e });
        }
        const { done, value } = chunk;
        if (signal?.aborted) throw abortError(signal);
        if (done) break;
        if (!value?.byteLength) continue;
        // One copy: the chunk goes straight into the buffer that becomes the model's memory.
        const ptr = loader.reserve(value.byteLength);
        new Uint8Array(wasm.memory.buffer, ptr, value.byteLength).set(value);
        const status = loader.commit();
        loaded += value.byteLength;
        if (status === STATUS_HEADER_READY) progress('header', loaded);
        progress('download', loaded);
      }
      if (signal?.aborted) throw abortError(signal);
      progress('prepare', loaded);
      await yieldToEventLoop();
      const wasmModel = loader.finish();
      loader = null;
      if (backend !== 'cpu') {
        // 'auto' stays on the CPU (with the reason in info.backendReason) when WebGPU is
        // missing, software-only or too small for the model; 'webgpu' rejects instead.
        try {
          await wasmModel.enable_webgpu(backend === 'webgpu');
        } catch (e) {
          wasmModel.free();
          throw e;
        }
        if (signal?.aborted) { wasmModel.free(); throw abortError(signal); }
      }
      const model = new Model(wasmModel);
      progress('ready', loaded);
      return model;
    } catch (e) {
      reader.cancel().catch(() => {});
      if (signal?.aborted) throw abortError(signal);
      throw fromWasm(e);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      loader?.free();
    }
  }

  /** Architecture, name, sizes, tensor types, vocabulary, chat template, backend, memory. */
  get info() {
    return this.#info;
  }

  /** @returns {Uint32Array} */
  tokenize(text, { addSpecial = true, parseSpecial = true } = {}) {
    try { return this.#live().tokenize(String(text), addSpecial, parseSpecial); } catch (e) { throw fromWasm(e); }
  }

  /** @param {ArrayLike<number>} ids */
  detokenize(ids) {
    try { return this.#live().detokenize(Uint32Array.from(ids)); } catch (e) { throw fromWasm(e); }
  }

  /**
   * Renders chat messages with the model's own template (or `options.template`), as
   * transformers' `apply_chat_template` does: `tools` and `templateVars` (e.g.
   * `{ enable_thinking: false }`, `{ date_string: '03 Dec 2026' }`) reach the template.
   */
  applyChatTemplate(messages, { template, addGenerationPrompt = true, tools, templateVars } = {}) {
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
    for await (const ev of this.#run(prompt, options)) {
      if (ev.done) return;
      yield { text: ev.text, tokenId: ev.tokenId };
    }
  }

  /** Renders `messages` with the chat template, then generates. */
  async chat(messages, options = {}) {
    const { template, tools, templateVars } = options;
    const prompt = this.applyChatTemplate(messages, { template, tools, templateVars, addGenerationPrompt: true });
    return this.generate(prompt, { ...options, parseSpecial: true });
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
          this.#info = wasm.info();
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
