// `import { WorkerModel } from 'wasm-chord/worker'`: the same API as `Model`, with the model
// running in a dedicated Web Worker so loading and generation never block the page.
// Differences from Model: tokenize/detokenize/applyChatTemplate return Promises.

import { Model, WasmChordError } from './index.js';
import { checkOptions, WORKER_LOAD_OPTIONS, GENERATE_OPTIONS, CHAT_OPTIONS } from './options.js';

export { WasmChordError };

function abortError(signal) {
  const reason = signal?.reason;
  const detail = reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : '';
  return new WasmChordError('ABORTED', `aborted${detail}`);
}

/** A model loaded in its own Worker. Create with `await WorkerModel.load(source, options)`. */
export class WorkerModel {
  #worker;
  #nextId = 1;
  #pending = new Map();
  #info;
  #busy = false;

  /** @private use WorkerModel.load */
  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => this.#receive(data);
    worker.onerror = (e) => {
      const err = new WasmChordError('WORKER_FAILED', `the wasm-chord worker failed: ${e.message ?? 'unknown error'}`);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
  }

  /**
   * Same options as `Model.load`, plus `worker`: an existing Worker running wasm-chord's
   * worker-thread.js (for bundlers that need it created at a fixed place).
   */
  static async load(source, options = {}) {
    checkOptions('WorkerModel.load', options, WORKER_LOAD_OPTIONS);
    const { onProgress, signal, worker: given, ...rest } = options ?? {};
    if (signal?.aborted) throw abortError(signal);
    const worker = given ?? new Worker(new URL('./worker-thread.js', import.meta.url), { type: 'module', name: 'wasm-chord' });
    const wm = new WorkerModel(worker);
    const transfer = [];
    let payload = source;
    // Resolved here: the worker would resolve a relative URL against its own script's URL.
    const resolve = (s) => (s instanceof URL || typeof s === 'string' ? new URL(String(s), globalThis.location?.href).href : s);
    if (source instanceof URL || typeof source === 'string') payload = resolve(source);
    // A split model's shards: URLs (resolved here) or Files (cloned to the worker).
    else if (Array.isArray(source)) payload = source.map(resolve);
    else if (typeof Response !== 'undefined' && source instanceof Response) {
      // A Response cannot cross threads; its body stream can (transferred, not copied).
      const len = Number(source.headers.get('content-length'));
      if (!source.ok || !source.body) throw new WasmChordError('FETCH_FAILED', `fetching ${source.url} failed: HTTP ${source.status}`);
      payload = source.body;
      if (Number.isSafeInteger(len) && len > 0 && !source.headers.get('content-encoding')) rest.size = len;
      transfer.push(payload);
    } else if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) {
      transfer.push(source);
    }
    try {
      wm.#info = await wm.#request({ type: 'load', source: payload, options: rest }, { signal, onEvent: (ev) => {
        if (ev.kind === 'progress') {
          const { kind, ...p } = ev;
          try { onProgress?.(p); } catch { /* a UI bug must not break loading */ }
        }
      } }, transfer);
    } catch (e) {
      if (!given) worker.terminate();
      throw e;
    }
    return wm;
  }

  get info() {
    return this.#info;
  }

  // The cache is the origin's storage, shared with the worker: managed from here directly.
  /** Same as `Model.listCached`. */
  static listCached(options) { return Model.listCached(options); }
  /** Same as `Model.deleteCached`. */
  static deleteCached(url, options) { return Model.deleteCached(url, options); }
  /** Same as `Model.clearCache`. */
  static clearCache(options) { return Model.clearCache(options); }
  /** Same as `Model.cacheUsage`. */
  static cacheUsage(options) { return Model.cacheUsage(options); }

  tokenize(text, options) {
    return this.#request({ type: 'tokenize', text, options });
  }

  detokenize(ids) {
    return this.#request({ type: 'detokenize', ids: Array.from(ids) });
  }

  applyChatTemplate(messages, options) {
    return this.#request({ type: 'applyChatTemplate', messages, options });
  }

  /** Same result as Model.generate; `onToken` is called as tokens stream back from the worker. */
  async generate(prompt, options = {}) {
    checkOptions('generate', options, GENERATE_OPTIONS);
    return this.#generate(prompt, options, false);
  }

  async chat(messages, options = {}) {
    checkOptions('chat', options, CHAT_OPTIONS);
    return this.#generate(messages, options, true);
  }

  /** Real per-token streaming from the worker. Breaking out of the loop aborts the generation. */
  async *stream(prompt, options = {}) {
    checkOptions('stream', options, GENERATE_OPTIONS);
    const queue = [];
    let wake = null;
    let finished = false;
    let failure = null;
    const local = new AbortController();
    const onAbort = () => local.abort(options.signal.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const run = this.#generate(prompt, { ...options, signal: local.signal, onToken: (text, tokenId) => {
      queue.push({ text, tokenId });
      wake?.();
      return options.onToken?.(text, tokenId);
    } }, false).then(
      () => { finished = true; wake?.(); },
      (e) => { failure = e; finished = true; wake?.(); },
    );
    try {
      for (;;) {
        if (queue.length) { yield queue.shift(); continue; }
        if (finished) break;
        await new Promise((r) => { wake = r; });
        wake = null;
      }
      if (failure) throw failure;
    } finally {
      if (!finished) local.abort();
      options.signal?.removeEventListener('abort', onAbort);
      await run;
    }
  }

  async #generate(prompt, options, chat) {
    if (this.#busy) throw new WasmChordError('BUSY', 'this model is already generating; await or abort the running call first');
    // Callbacks cannot cross postMessage: they stay here and the worker sends events.
    const { signal, onToken, onBackendChange, ...rest } = options;
    if (signal?.aborted) throw abortError(signal);
    this.#busy = true;
    try {
      let stopped = false;
      return await this.#request({ type: 'generate', prompt, chat, options: rest }, { signal, onEvent: (ev, id) => {
        if (ev.kind === 'backend') {
          this.#info = ev.info;
          try { onBackendChange?.(ev.change); } catch { /* a UI bug must not break generation */ }
          return;
        }
        if (ev.kind !== 'token' || stopped) return;
        if (onToken?.(ev.text, ev.tokenId) === false) {
          stopped = true;
          this.#worker.postMessage({ id: this.#nextId++, type: 'abort', target: id, reason: 'onToken returned false' });
        }
      } });
    } finally {
      this.#busy = false;
    }
  }

  /** Terminates the worker and frees the model. */
  dispose() {
    if (!this.#worker) return;
    this.#worker.terminate();
    this.#worker = null;
    const err = new WasmChordError('DISPOSED', 'this model was disposed');
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #request(msg, { signal, onEvent } = {}, transfer = []) {
    if (!this.#worker) return Promise.reject(new WasmChordError('DISPOSED', 'this model was disposed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => this.#worker?.postMessage({ id: this.#nextId++, type: 'abort', target: id, reason: String(signal.reason ?? 'aborted') });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (v) => { signal?.removeEventListener('abort', onAbort); resolve(v); },
        reject: (e) => { signal?.removeEventListener('abort', onAbort); reject(e); },
        onEvent: (ev) => onEvent?.(ev, id),
      });
      this.#worker.postMessage({ ...msg, id }, transfer);
    });
  }

  #receive(data) {
    const p = this.#pending.get(data.id);
    if (!p) return;
    if (data.event) { p.onEvent(data.event); return; }
    this.#pending.delete(data.id);
    if (data.ok) p.resolve(data.value);
    else p.reject(new WasmChordError(data.error.code, data.error.message));
  }
}
