// `wasm-chord/worker`: the Model API with the model in a dedicated Web Worker.
import type {
  CachedModel, CacheOptions, CacheUsage, ChatMessage, ChatOptions, ChatTemplateOptions, GenerateOptions, GenerateResult, LoadOptions, ModelInfo, ModelSource,
} from './index.js';
export { WasmChordError } from './index.js';

export interface WorkerLoadOptions extends LoadOptions {
  /** An existing Worker running wasm-chord's worker-thread.js. */
  worker?: Worker;
}

export class WorkerModel {
  private constructor();
  static load(source: ModelSource, options?: WorkerLoadOptions): Promise<WorkerModel>;
  /** The same cache as Model's (the origin's storage). */
  static listCached(options?: CacheOptions): Promise<CachedModel[]>;
  static deleteCached(url: string | URL, options?: CacheOptions): Promise<boolean>;
  static clearCache(options?: CacheOptions): Promise<void>;
  static cacheUsage(options?: CacheOptions): Promise<CacheUsage>;
  readonly info: ModelInfo;
  generate(prompt: string, options?: GenerateOptions): Promise<GenerateResult>;
  stream(prompt: string, options?: GenerateOptions): AsyncGenerator<{ text: string; tokenId: number }, void, void>;
  chat(messages: ChatMessage[], options?: ChatOptions): Promise<GenerateResult>;
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions & { addGenerationPrompt?: boolean }): Promise<string>;
  tokenize(text: string, options?: { addSpecial?: boolean; parseSpecial?: boolean }): Promise<Uint32Array>;
  detokenize(ids: ArrayLike<number>): Promise<string>;
  dispose(): void;
}
