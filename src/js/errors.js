// The error every wasm-chord failure is, and the conversions into it (shared by the modules).

/** The error every wasm-chord failure is: `error.code` is stable, `error.message` names the culprit. */
export class WasmChordError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'WasmChordError';
    this.code = code;
  }
}

export function fromWasm(e) {
  if (e instanceof WasmChordError) return e;
  if (e && typeof e === 'object' && typeof e.code === 'string') return new WasmChordError(e.code, e.message);
  if (e instanceof WebAssembly.RuntimeError) {
    return new WasmChordError('INTERNAL', `wasm-chord crashed (${e.message}); this is a bug, please report it`, { cause: e });
  }
  return e;
}

export function abortError(signal) {
  const reason = signal?.reason;
  const detail = reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : '';
  return new WasmChordError('ABORTED', `aborted${detail}`);
}
