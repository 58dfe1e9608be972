// One table of every public option: its type and range, checked before anything runs, so a
// typo (`max_tokens`) or a wrong type is an INVALID_OPTION naming the option and what it
// accepts rather than a silent default or a TypeError deep inside.
import { WasmChordError } from './errors.js';

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const int = (min, max) => [(v) => Number.isInteger(v) && v >= min && v <= max, `an integer in [${min}, ${max}]`];
const finite = [(v) => typeof v === 'number' && Number.isFinite(v), 'a finite number'];
const bool = [(v) => typeof v === 'boolean', 'true or false'];
const fn = [(v) => typeof v === 'function', 'a function'];
const str = [(v) => typeof v === 'string', 'a string'];
const signal = [(v) => isObject(v) && typeof v.aborted === 'boolean' && typeof v.addEventListener === 'function', 'an AbortSignal'];
const oneOf = (...xs) => [(v) => xs.includes(v), xs.map((x) => `'${x}'`).join(', ')];

// Ranges the engine enforces further (e.g. topP in (0, 1]) are reported by it with the same code.
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
export const LOAD_OPTIONS = {
  onProgress: fn, signal, backend: oneOf('auto', 'cpu', 'webgpu'),
  contextLength: int(0, 1 << 24), size: int(0, MAX_SAFE), cache: bool, integrity: str,
  stallTimeout: int(0, 2 ** 31 - 1), retries: int(0, 1000), cacheDir: str,
};
export const WORKER_LOAD_OPTIONS = { ...LOAD_OPTIONS, worker: [(v) => isObject(v) && typeof v.postMessage === 'function', 'a Worker'] };
export const TOKENIZE_OPTIONS = { addSpecial: bool, parseSpecial: bool };
export const GENERATE_OPTIONS = {
  maxTokens: int(0, 1e9), temperature: finite, topK: int(0, 1e9), topP: finite, minP: finite,
  repeatPenalty: finite, presencePenalty: finite, frequencyPenalty: finite, repeatLastN: int(0, 1e9),
  seed: int(-MAX_SAFE, MAX_SAFE),
  stop: [(v) => typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string')), 'a string or an array of strings'],
  ignoreEos: bool, addSpecial: bool, parseSpecial: bool, reuseCache: bool, signal,
  onToken: fn, onBackendChange: fn,
};
export const TEMPLATE_OPTIONS = {
  template: str, addGenerationPrompt: bool,
  tools: [(v) => Array.isArray(v) && v.every(isObject), 'an array of tool objects'],
  templateVars: [isObject, 'an object'],
};
const { addGenerationPrompt: _, ...chatTemplate } = TEMPLATE_OPTIONS;
export const CHAT_OPTIONS = { ...GENERATE_OPTIONS, ...chatTemplate };
export const CACHE_OPTIONS = { cacheDir: str };

const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const show = (v) => {
  if (typeof v === 'function') return 'a function';
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
};

/** Throws INVALID_OPTION for an unknown option or a value outside its type or range. */
export function checkOptions(what, options, table) {
  if (options === undefined) return {};
  if (!isObject(options)) throw new WasmChordError('INVALID_OPTION', `${what} options must be an object, not ${show(options)}`);
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    const spec = table[k];
    if (!spec) {
      const hint = table[camel(k)] ? ` (did you mean ${camel(k)}?)` : '';
      throw new WasmChordError('INVALID_OPTION', `${what}: unknown option ${k}${hint}; the options are ${Object.keys(table).join(', ')}`);
    }
    if (!spec[0](v)) throw new WasmChordError('INVALID_OPTION', `${what}: ${k} must be ${spec[1]}, not ${show(v)}`);
  }
  return options;
}
