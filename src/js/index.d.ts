// Type declarations for `wasm-chord` (the ESM entry) — hand-written to document the public API.

export type ModelSource =
  | string
  | URL
  | Response
  | Blob
  | ArrayBuffer
  | Uint8Array
  | ReadableStream<Uint8Array>
  /** The shards of a split (gguf-split) model, in any order. */
  | Array<string | URL | Blob | ArrayBuffer | Uint8Array>;

export type Backend = 'auto' | 'cpu' | 'webgpu';

export interface LoadProgress {
  /**
   * 'download' while bytes arrive (monotone, also across resumes), 'header' once the header
   * validated, then 'prepare', 'ready'. 'retry': the connection dropped or stalled and the
   * download resumes (`restart: true`: from byte 0). 'cache': the file could not be cached,
   * or its cached copy was damaged (`cached: false`, `reason`).
   */
  phase: 'download' | 'header' | 'prepare' | 'ready' | 'retry' | 'cache';
  loaded: number;
  /** Bytes expected (Content-Length, Blob size, byte length, cache record) when known. */
  total?: number;
  /** Where the bytes come from: the persistent cache or the network (or the given source). */
  from?: 'cache' | 'network';
  reason?: string;
  attempt?: number;
  restart?: boolean;
  cached?: boolean;
  /** A split model: which shard the event is about, and how many there are (`loaded`/`total` add them all up). */
  shard?: number;
  shards?: number;
}

/** Where the model cache lives: the Cache API in browsers; in Node a directory. */
export interface CacheOptions {
  /** Node: the cache directory (default $WASM_CHORD_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache, + wasm-chord/http). */
  cacheDir?: string;
}

/** A cached model, as `Model.listCached()` lists it. */
export interface CachedModel {
  url: string;
  size: number;
  etag?: string;
  lastModified?: string;
  /** Base64 SHA-256, when the file was loaded with an `integrity`. */
  sha256?: string;
  storedAt: string;
}

export interface CacheUsage {
  /** Bytes of cached models, and how many. */
  bytes: number;
  models: number;
  /** navigator.storage.estimate() for the whole origin in browsers; Node: `usage` undefined, `quota` = free disk space. */
  usage?: number;
  quota?: number;
}

export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
  /**
   * 'auto' (default): WebGPU when a hardware adapter exists and the model fits its limits,
   * else the CPU (info.backendReason says why). 'webgpu': WebGPU or reject with
   * BACKEND_UNAVAILABLE (software adapters allowed). 'cpu': WASM SIMD128 only.
   */
  backend?: Backend;
  /** KV cache size in tokens; default min(model context, 4096). */
  contextLength?: number;
  /** Total size for a ReadableStream source without a known length (enables early validation). */
  size?: number;
  /**
   * URL sources: keep the file in persistent storage as it downloads and load it from there
   * next time, revalidated with the server (ETag / Last-Modified; served from the cache when
   * the server is unreachable). Default true. Caching never makes a load fail: when storage is
   * unavailable or full the load succeeds uncached (`info.cache.reason`).
   */
  cache?: boolean;
  /** `'sha256-<base64>'` (as in Subresource Integrity): checked as the bytes arrive; a mismatch rejects with INTEGRITY_MISMATCH and caches nothing. */
  integrity?: string;
  /** URL sources: ms without a byte before the download is resumed (default 30000). */
  stallTimeout?: number;
  /** URL sources: how many consecutive failed attempts (drops, stalls, 5xx) without new bytes are retried, with backoff (default 4). */
  retries?: number;
  cacheDir?: string;
}

export interface GenerateOptions {
  /** Default 256. */
  maxTokens?: number;
  /** 0 = greedy (the default). */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  repeatLastN?: number;
  seed?: number;
  /** Generation stops before any of these strings; they are checked on text, not tokens. */
  stop?: string | string[];
  /** Keep going past end-of-generation tokens. */
  ignoreEos?: boolean;
  /** Add BOS/EOS as the model's metadata says (default true for generate, false for chat). */
  addSpecial?: boolean;
  /** Parse special-token text such as `<start_of_turn>` in the prompt (default true). */
  parseSpecial?: boolean;
  /**
   * Keep the KV cache of the longest prefix this prompt shares with the previous call's
   * tokens and prefill only the rest (default true); false prefills the whole prompt.
   */
  reuseCache?: boolean;
  signal?: AbortSignal;
  /** Called for every token; return false to stop after it. */
  onToken?: (text: string, tokenId: number) => boolean | void;
  /** Called when the WebGPU device is lost mid-generation and generation moves to the CPU. */
  onBackendChange?: (change: { backend: 'cpu' | 'webgpu'; reason: string }) => void;
}

/** A tool call in an assistant message (OpenAI shape); `arguments` an object or a JSON string. */
export interface ToolCall {
  id?: string;
  type?: 'function';
  function: { name: string; arguments: Record<string, unknown> | string };
}

/**
 * A chat message. Every field reaches the template as given (in this key order), so fields a
 * template reads — `tool_calls`, `tool_call_id`, `name`, Qwen3's `reasoning_content` — work.
 */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | string;
  content: string | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  name?: string;
  reasoning_content?: string;
  [field: string]: unknown;
}

/** A tool definition as chat templates expect it (OpenAI / transformers JSON schema). */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
  [field: string]: unknown;
}

export interface ChatTemplateOptions {
  /** A Jinja chat template to use instead of (or when the model has no) built-in one. */
  template?: string;
  /** Tools the template lists for the model (`tools` in the template; none when omitted). */
  tools?: ToolDefinition[];
  /**
   * Extra template variables, as transformers' `apply_chat_template(**kwargs)`: e.g.
   * `{ enable_thinking: false }` (Qwen3), `{ date_string: '03 Dec 2026' }` (Llama 3.x; otherwise
   * `strftime_now` gives today's local date). May override `bos_token` / `eos_token`; the names
   * messages, tools, documents and add_generation_prompt fail with INVALID_OPTION.
   */
  templateVars?: Record<string, unknown>;
}

export interface ChatOptions extends GenerateOptions, ChatTemplateOptions {}

export interface Timings {
  prefillMs: number;
  decodeMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  /** Prompt tokens whose keys and values were kept from the previous call (not prefilled). */
  reusedTokens: number;
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  promptTokens: number;
  finishReason: 'stop' | 'length' | 'eos' | 'abort' | 'context_full';
  timings: Timings;
}

export interface ModelInfo {
  architecture: string;
  name?: string;
  parameterCount: number;
  contextLength: number;
  trainedContextLength: number;
  vocabSize: number;
  tensorTypes: Record<string, number>;
  fileBytes: number;
  memoryBytes: number;
  backend: 'cpu' | 'webgpu';
  /** Why this backend: the adapter used, or why WebGPU was not (or is no longer) used. */
  backendReason: string;
  /** The WebGPU adapter, when on WebGPU. */
  gpuAdapter?: string;
  kvCacheBytes: number;
  chatTemplate?: string;
  bosTokenId?: number;
  eosTokenId?: number;
  /** URL sources: whether the file is in the persistent cache now. */
  cached?: boolean;
  /**
   * URL sources: 'hit' (read from the cache; `revalidation` says how it was checked: 'not
   * modified', 'unchanged', 'offline (…)', 'the server answered HTTP …'), 'stored' (downloaded
   * and cached), 'off' (downloaded, not cached: `reason`).
   */
  cache?: { status: 'hit' | 'stored' | 'off'; revalidation?: string; reason?: string };
}

/** Every wasm-chord failure: `code` is stable (e.g. GGUF_TRUNCATED), `message` names the culprit. */
export class WasmChordError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions);
}

export class Model {
  private constructor();
  static load(source: ModelSource, options?: LoadOptions): Promise<Model>;
  /** The cached models (CACHE_UNAVAILABLE where there is no storage). */
  static listCached(options?: CacheOptions): Promise<CachedModel[]>;
  /** Deletes the cached copy of `url`; resolves to whether there was one. */
  static deleteCached(url: string | URL, options?: CacheOptions): Promise<boolean>;
  static clearCache(options?: CacheOptions): Promise<void>;
  static cacheUsage(options?: CacheOptions): Promise<CacheUsage>;
  readonly info: ModelInfo;
  generate(prompt: string, options?: GenerateOptions): Promise<GenerateResult>;
  stream(prompt: string, options?: GenerateOptions): AsyncGenerator<{ text: string; tokenId: number }, void, void>;
  chat(messages: ChatMessage[], options?: ChatOptions): Promise<GenerateResult>;
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions & { addGenerationPrompt?: boolean }): string;
  tokenize(text: string, options?: { addSpecial?: boolean; parseSpecial?: boolean }): Uint32Array;
  detokenize(ids: ArrayLike<number>): string;
  dispose(): void;
}

/** Initialises the wasm explicitly (optional: Model.load does it), e.g. from a custom URL. */
export function initWasm(moduleOrPath?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<unknown>;

export function version(): string;
