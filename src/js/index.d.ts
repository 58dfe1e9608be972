// Type declarations for `wasm-chord` (the ESM entry) — hand-written to document the public API.

export type ModelSource =
  | string
  | URL
  | Response
  | Blob
  | ArrayBuffer
  | Uint8Array
  | ReadableStream<Uint8Array>;

export type Backend = 'auto' | 'cpu' | 'webgpu';

export interface LoadProgress {
  /** 'download' while bytes arrive, 'header' once the header validated, then 'prepare', 'ready'. */
  phase: 'download' | 'header' | 'prepare' | 'ready';
  loaded: number;
  /** Bytes expected (Content-Length, Blob size, byte length) when known. */
  total?: number;
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

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | string;
  content: string;
}

export interface ChatOptions extends GenerateOptions {
  /** A Jinja chat template to use instead of (or when the model has no) built-in one. */
  template?: string;
}

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
}

/** Every wasm-chord failure: `code` is stable (e.g. GGUF_TRUNCATED), `message` names the culprit. */
export class WasmChordError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions);
}

export class Model {
  private constructor();
  static load(source: ModelSource, options?: LoadOptions): Promise<Model>;
  readonly info: ModelInfo;
  generate(prompt: string, options?: GenerateOptions): Promise<GenerateResult>;
  stream(prompt: string, options?: GenerateOptions): AsyncGenerator<{ text: string; tokenId: number }, void, void>;
  chat(messages: ChatMessage[], options?: ChatOptions): Promise<GenerateResult>;
  applyChatTemplate(messages: ChatMessage[], options?: { template?: string; addGenerationPrompt?: boolean }): string;
  tokenize(text: string, options?: { addSpecial?: boolean; parseSpecial?: boolean }): Uint32Array;
  detokenize(ids: ArrayLike<number>): string;
  dispose(): void;
}

/** Initialises the wasm explicitly (optional: Model.load does it), e.g. from a custom URL. */
export function initWasm(moduleOrPath?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<unknown>;

export function version(): string;
