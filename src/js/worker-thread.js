// The Worker side of `wasm-chord/worker`: owns one Model and answers the page's requests.
// Protocol: the page sends { id, type, ...args }; the worker answers { id, ok, value } or
// { id, ok: false, error: { code, message } }, and streams { id, event } for progress and tokens.

import { Model, WasmChordError } from './index.js';

let model = null;
const controllers = new Map();

function post(msg) {
  self.postMessage(msg);
}

function errorPayload(e) {
  if (e instanceof WasmChordError) return { code: e.code, message: e.message };
  return { code: 'INTERNAL', message: e?.message ?? String(e) };
}

async function handle(msg) {
  const { id, type } = msg;
  switch (type) {
    case 'load': {
      const controller = new AbortController();
      controllers.set(id, controller);
      model?.dispose();
      model = null;
      model = await Model.load(msg.source, {
        ...msg.options,
        signal: controller.signal,
        onProgress: (p) => post({ id, event: { kind: 'progress', ...p } }),
      });
      return model.info;
    }
    case 'generate': {
      const controller = new AbortController();
      controllers.set(id, controller);
      const m = live();
      const opts = {
        ...msg.options,
        signal: controller.signal,
        onToken: (text, tokenId) => { post({ id, event: { kind: 'token', text, tokenId } }); },
        onBackendChange: (change) => { post({ id, event: { kind: 'backend', change, info: m.info } }); },
      };
      return msg.chat ? m.chat(msg.prompt, opts) : m.generate(msg.prompt, opts);
    }
    case 'abort':
      controllers.get(msg.target)?.abort(msg.reason);
      return true;
    case 'tokenize':
      return live().tokenize(msg.text, msg.options);
    case 'detokenize':
      return live().detokenize(msg.ids);
    case 'applyChatTemplate':
      return live().applyChatTemplate(msg.messages, msg.options);
    case 'dispose':
      model?.dispose();
      model = null;
      return true;
    default:
      throw new WasmChordError('INVALID_REQUEST', `unknown request type ${JSON.stringify(type)}`);
  }
}

function live() {
  if (!model) throw new WasmChordError('NOT_LOADED', 'no model is loaded in this worker');
  return model;
}

self.onmessage = async ({ data }) => {
  try {
    const value = await handle(data);
    post({ id: data.id, ok: true, value });
  } catch (e) {
    post({ id: data.id, ok: false, error: errorPayload(e) });
  } finally {
    controllers.delete(data.id);
  }
};
