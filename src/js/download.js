// Downloads that survive a dropped or stalled connection: the body is read chunk by chunk and,
// when the connection breaks or no byte arrives for `stallTimeout` ms, requested again from
// where it stopped (`Range: bytes=N-` with `If-Range`, so a file changed meanwhile comes back
// whole, as a 200, and the download restarts). A server without range support restarts it too.
// Failures that add no new bytes are retried `retries` times with exponential backoff.

import { WasmChordError, abortError } from './errors.js';

const BACKOFF_MS = 250;
const BACKOFF_MAX_MS = 4000;

/** The validators a response carries: what identifies this version of the file. */
export function validators(res) {
  const h = res.headers;
  const encoded = (h.get('content-encoding') ?? 'identity') !== 'identity';
  let size;
  const range = /^bytes \d+-\d+\/(\d+)$/.exec(h.get('content-range') ?? '');
  if (range) size = Number(range[1]);
  else {
    const len = Number(h.get('content-length'));
    if (!encoded && Number.isSafeInteger(len) && len > 0) size = len;
  }
  return { etag: h.get('etag') ?? undefined, lastModified: h.get('last-modified') ?? undefined, size, encoded };
}

/** The If-Range value: a strong ETag, else Last-Modified (weak ETags are not allowed there). */
function ifRange(v) {
  if (v.etag && !v.etag.startsWith('W/')) return v.etag;
  return v.lastModified;
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(abortError(signal)); return; }
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(abortError(signal)); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function httpError(name, res) {
  return new WasmChordError('FETCH_FAILED', `fetching ${name} failed: HTTP ${res.status} ${res.statusText}`);
}

/** 408, 425, 429 and 5xx may succeed on a later try; other HTTP errors will not. */
const retryable = (status) => status === 408 || status === 425 || status === 429 || status >= 500;

/**
 * The body of `url` as an async iterator of events:
 *   { type: 'response', validators }  once, before the first chunk (and again after a restart)
 *   { type: 'chunk', value }          bytes, in order
 *   { type: 'restart', reason }       the bytes so far are void: start again from byte 0
 *   { type: 'retry', attempt, offset, reason }
 * `first` is a response already fetched for this URL (from revalidation), used as the first attempt.
 */
export async function* resumableBody(url, { signal, stallTimeout = 30000, retries = 4, first, name = String(url) } = {}) {
  let offset = 0;
  let reached = 0;
  let failures = 0;
  let current = null;
  let res = first ?? null;
  for (;;) {
    const attempt = new AbortController();
    const onAbort = () => attempt.abort(signal.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let reader = null;
    let stallTimer = null;
    try {
      if (!res) {
        const headers = {};
        if (offset > 0) {
          headers.Range = `bytes=${offset}-`;
          const v = ifRange(current);
          if (v) headers['If-Range'] = v;
        }
        res = await fetch(url, { signal: attempt.signal, headers, cache: 'no-store' });
      }
      if (offset > 0 && res.status === 206) {
        const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== offset || (m[2] !== '*' && current.size !== undefined && Number(m[2]) !== current.size)) {
          res.body?.cancel().catch(() => {});
          res = null;
          offset = 0;
          yield { type: 'restart', reason: 'the server answered the range request with other bytes' };
          continue;
        }
      } else if (res.ok && res.status !== 206) {
        if (offset > 0) {
          offset = 0;
          yield { type: 'restart', reason: 'the server sent the whole file again (no range support, or the file changed)' };
        }
        current = validators(res);
        yield { type: 'response', validators: current };
      } else {
        const err = httpError(name, res);
        res.body?.cancel().catch(() => {});
        if (!retryable(res.status)) throw err;
        throw Object.assign(err, { retryable: true });
      }
      if (!res.body) throw new WasmChordError('FETCH_FAILED', `fetching ${name} gave no body`);
      reader = res.body.getReader();
      res = null;
      for (;;) {
        const read = reader.read();
        const timeout = new Promise((_, reject) => {
          stallTimer = setTimeout(() => reject(new Error(`no data for ${stallTimeout} ms`)), stallTimeout);
        });
        let chunk;
        try { chunk = await Promise.race([read, timeout]); } finally { clearTimeout(stallTimer); }
        if (chunk.done) break;
        if (!chunk.value?.byteLength) continue;
        offset += chunk.value.byteLength;
        if (offset > reached) { reached = offset; failures = 0; }
        yield { type: 'chunk', value: chunk.value };
      }
      // A body that ended early (a closed connection can look like a clean end).
      if (current?.size !== undefined && offset < current.size) throw new Error(`the connection closed after ${offset} of ${current.size} bytes`);
      return;
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      if (e instanceof WasmChordError && !e.retryable) throw e;
      if (++failures > retries) {
        if (e instanceof WasmChordError) throw e;
        if (!current) throw new WasmChordError('FETCH_FAILED', `could not fetch ${name}: ${e?.message ?? e}`, { cause: e });
        const of = current?.size !== undefined ? ` of ${current.size}` : '';
        const tries = retries > 0 ? ` (${retries + 1} attempts)` : '';
        throw new WasmChordError('GGUF_TRUNCATED', `${name}: download ended after ${offset}${of} bytes${tries}: ${e?.message ?? e}`, { cause: e });
      }
      yield { type: 'retry', attempt: failures, offset, reason: e?.message ?? String(e) };
      res = null;
      // Encoded bodies cannot resume: Range offsets count encoded bytes.
      if (current?.encoded && offset > 0) {
        offset = 0;
        yield { type: 'restart', reason: 'a compressed body cannot resume' };
      }
      await sleep(Math.min(BACKOFF_MS * 2 ** (failures - 1), BACKOFF_MAX_MS), signal);
    } finally {
      clearTimeout(stallTimer);
      attempt.abort();
      reader?.cancel().catch(() => {});
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
