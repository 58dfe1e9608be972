// The demo chat: the published package's Worker entry, nothing else.
import { WorkerModel } from 'wasm-chord/worker';

const $ = (id) => document.getElementById(id);
const els = {
  url: $('model-url'), urlForm: $('url-form'), file: $('model-file'), backend: $('backend'), badge: $('backend-badge'),
  progressWrap: $('progress-wrap'), progress: $('progress'), progressText: $('progress-text'), info: $('model-info'),
  output: $('output'), form: $('prompt-form'), prompt: $('prompt'), send: $('send'), stop: $('stop'), clear: $('clear'),
  status: $('status'), mode: $('mode'), cacheList: $('cache-list'), cacheUsage: $('cache-usage'),
  temperature: $('temperature'), topK: $('top-k'), topP: $('top-p'), maxTokens: $('max-tokens'), seed: $('seed'),
};

const DEFAULT_MODEL = new URLSearchParams(location.search).get('model') ?? '/models/default.gguf';

let model = null;
let source = null;
let loadAbort = null;
let genAbort = null;
let history = [];

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

function setStatus(text, isError = false) {
  els.status.textContent = text;
  els.status.classList.toggle('error', isError);
}

function showError(e, context) {
  const code = e?.code ?? 'ERROR';
  setStatus(`${context}: [${code}] ${e?.message ?? e}`, true);
  addMessage('error', `[${code}] ${e?.message ?? e}`);
}

function setBusy(generating) {
  const ready = !!model && !generating;
  els.prompt.disabled = !model;
  els.send.disabled = !ready;
  els.stop.disabled = !generating;
}

function addMessage(role, text = '') {
  const div = document.createElement('div');
  div.className = `msg ${role}`;
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = { user: 'You', assistant: 'Model', completion: 'Model (continuation)', error: 'Error' }[role] ?? role;
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  const meta = document.createElement('span');
  meta.className = 'meta';
  div.append(who, body, meta);
  els.output.append(div);
  els.output.scrollTop = els.output.scrollHeight;
  return { body, meta };
}

async function load(src, label) {
  loadAbort?.abort();
  genAbort?.abort();
  model?.dispose();
  model = null;
  source = src;
  setBusy(false);
  const ac = new AbortController();
  loadAbort = ac;
  els.progressWrap.hidden = false;
  els.progress.value = 0;
  els.info.textContent = '';
  els.badge.textContent = '…';
  setStatus(`Loading ${label}…`);
  const t0 = performance.now();
  try {
    const m = await WorkerModel.load(src, {
      backend: els.backend.value,
      signal: ac.signal,
      onProgress: ({ phase, loaded, total, from, reason }) => {
        if (phase === 'retry' || phase === 'cache') { setStatus(`${phase === 'retry' ? 'Connection problem, resuming' : 'Not cached'}: ${reason}`); return; }
        if (total) els.progress.value = (100 * loaded) / total;
        else els.progress.removeAttribute('value');
        const pct = total ? ` (${((100 * loaded) / total).toFixed(0)} %)` : '';
        const reading = from === 'cache' ? 'Reading from the cache' : 'Downloading';
        const what = { download: reading, header: 'Header validated', prepare: 'Preparing', ready: 'Ready' }[phase] ?? phase;
        els.progressText.textContent = `${what}: ${mib(loaded)}${total ? ` of ${mib(total)}` : ''}${pct}`;
        setStatus(`${what} ${label}${pct}`);
      },
    });
    if (ac.signal.aborted) { m.dispose(); return; }
    model = m;
    const i = m.info;
    els.progress.value = 100;
    els.badge.textContent = i.backend === 'webgpu' ? 'WebGPU' : 'CPU';
    els.badge.title = i.backendReason;
    const types = Object.entries(i.tensorTypes).map(([t, n]) => `${t}×${n}`).join(' ');
    els.info.textContent = `${i.name ?? i.architecture} · ${(i.parameterCount / 1e6).toFixed(0)}M params · context ${i.contextLength} · vocab ${i.vocabSize} · ${types} · ${mib(i.memoryBytes)} wasm memory`;
    els.mode.textContent = i.chatTemplate ? 'chat (model template)' : 'completion mode: this model has no chat template, your text is continued as written';
    history = [];
    setBusy(false);
    const whence = { hit: ' from the cache (no download)', stored: ', now cached', off: ` (not cached: ${i.cache?.reason})` }[i.cache?.status] ?? '';
    setStatus(`Ready: ${label} loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s${whence}`);
    refreshCache();
    els.prompt.focus();
  } catch (e) {
    if (ac.signal.aborted && e?.code === 'ABORTED') return;
    els.badge.textContent = '–';
    showError(e, `Loading ${label} failed`);
  }
}

function settings() {
  const num = (el) => Number(el.value);
  return {
    temperature: num(els.temperature), topK: num(els.topK), topP: num(els.topP),
    maxTokens: num(els.maxTokens), seed: num(els.seed),
  };
}

async function send() {
  const text = els.prompt.value;
  if (!model || !text.trim() || genAbort) return;
  els.prompt.value = '';
  const chat = !!model.info.chatTemplate;
  addMessage('user', text);
  const out = addMessage(chat ? 'assistant' : 'completion');
  const ac = new AbortController();
  genAbort = ac;
  setBusy(true);
  setStatus('Generating…');
  const t0 = performance.now();
  let tFirst = 0;
  let n = 0;
  const onToken = (piece) => {
    if (!tFirst) tFirst = performance.now();
    n++;
    out.body.textContent += piece;
    els.output.scrollTop = els.output.scrollHeight;
    const secs = (performance.now() - tFirst) / 1000;
    const rate = n > 1 && secs > 0 ? ((n - 1) / secs).toFixed(1) : '–';
    setStatus(`Generating… ${n} tokens · first token ${(tFirst - t0).toFixed(0)} ms · ${rate} tok/s`);
  };
  try {
    // A lost GPU (driver reset, tab in the background on some systems) moves the
    // generation to the CPU; the badge follows.
    const onBackendChange = (c) => {
      els.badge.textContent = c.backend === 'webgpu' ? 'WebGPU' : 'CPU';
      els.badge.title = c.reason;
      setStatus(`WebGPU was lost; continuing on the CPU (${c.reason})`);
    };
    const opts = { ...settings(), signal: ac.signal, onToken, onBackendChange };
    const r = chat
      ? await model.chat([...history, { role: 'user', content: text }], opts)
      : await model.generate(text, opts);
    if (chat) history.push({ role: 'user', content: text }, { role: 'assistant', content: r.text });
    const t = r.timings;
    const summary = `${r.tokens.length} tokens · first token ${tFirst ? (tFirst - t0).toFixed(0) : '–'} ms · prefill ${t.prefillTokensPerSecond.toFixed(0)} tok/s · decode ${t.decodeTokensPerSecond.toFixed(1)} tok/s · ${r.finishReason === 'abort' ? 'stopped' : `finished (${r.finishReason})`}`;
    out.meta.textContent = summary;
    setStatus(r.finishReason === 'abort' ? `Stopped: ${summary}` : `Done: ${summary}`);
  } catch (e) {
    showError(e, 'Generation failed');
  } finally {
    genAbort = null;
    setBusy(false);
    els.prompt.focus();
  }
}

els.form.addEventListener('submit', (e) => { e.preventDefault(); send(); });
els.prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
});
els.stop.addEventListener('click', () => genAbort?.abort('Stop button'));
els.clear.addEventListener('click', () => { history = []; els.output.replaceChildren(); setStatus(model ? 'Ready' : els.status.textContent); });
els.urlForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const url = els.url.value.trim() || DEFAULT_MODEL;
  load(url, url);
});
els.file.addEventListener('change', () => { const f = els.file.files?.[0]; if (f) load(f, f.name); });
els.backend.addEventListener('change', () => { if (source) load(source, typeof source === 'string' ? source : source.name ?? 'model'); });
document.addEventListener('dragover', (e) => { e.preventDefault(); });
document.addEventListener('drop', (e) => {
  e.preventDefault();
  const f = e.dataTransfer?.files?.[0];
  if (f) load(f, f.name);
});

/** The cached-models panel: name, size, a delete button each. */
async function refreshCache() {
  let list, usage;
  try {
    [list, usage] = await Promise.all([WorkerModel.listCached(), WorkerModel.cacheUsage()]);
  } catch (e) {
    els.cacheUsage.textContent = 'unavailable';
    els.cacheList.replaceChildren();
    return;
  }
  els.cacheUsage.textContent = `${mib(usage.bytes)}${usage.quota ? ` · quota ${(usage.quota / 2 ** 30).toFixed(1)} GiB` : ''}`;
  els.cacheList.replaceChildren(...list.map((r) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = new URL(r.url).pathname.split('/').pop();
    name.title = `${r.url}\nstored ${r.storedAt}`;
    const size = document.createElement('span');
    size.textContent = mib(r.size);
    const del = document.createElement('button');
    del.type = 'button';
    del.textContent = 'Delete';
    del.setAttribute('aria-label', `Delete ${name.textContent} from the cache`);
    del.addEventListener('click', async () => { await WorkerModel.deleteCached(r.url); refreshCache(); });
    li.append(name, size, del);
    return li;
  }));
  if (!list.length) {
    const li = document.createElement('li');
    li.className = 'hint';
    li.textContent = 'none yet';
    els.cacheList.append(li);
  }
}

els.url.value = DEFAULT_MODEL;
refreshCache();
load(DEFAULT_MODEL, DEFAULT_MODEL.split('/').pop());
