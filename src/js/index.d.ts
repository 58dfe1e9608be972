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
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions & { addGenerationPrompt?: boolean }): string;
  tokenize(text: string, options?: { addSpecial?: boolean; parseSpecial?: boolean }): Uint32Array;
  detokenize(ids: ArrayLike<number>): string;
  dispose(): void;
}

/** Initialises the wasm explicitly (optional: Model.load does it), e.g. from a custom URL. */
export function initWasm(moduleOrPath?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<unknown>;

export function version(): string;
