// The model cache and resumable downloads, as scenarios that run unchanged under Node (a
// directory cache) and in a page (the Cache API): tests/js/cache-node.test.mjs and
// tests/js/cache-browser.test.mjs. The server side is helpers.mjs' flakyRoutes, steered over
// HTTP (`/control`), so the same code drives it from either place.
//
// `env`: { Model, base (server URL), cases: { a, b } ({ prompt, tokens }: llama.cpp's greedy
// tokens on each of the two files), integrity: { a } ('sha256-…' of file a), damage(kind) ('flip' | 'truncate'
// the cached data files), storageFailure() → { options, restore } }.

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function control(env, c = {}) {
  const r = await fetch(`${env.base}/control`, { method: 'POST', body: JSON.stringify(c) });
  return r.json();
}

async function served(env) {
  return (await fetch(`${env.base}/control`)).json();
}

/** Loads the flaky URL and generates; returns what a scenario checks. */
async function load(env, file, options = {}) {
  const url = `${env.base}/flaky/model.gguf`;
  const events = [];
  // Monotone per source: a damaged cache entry is read first, then the file downloaded anew
  // (announced by a 'cache' event); resumes and restarts keep it monotone.
  const last = {};
  let monotone = true;
  const m = await env.Model.load(url, { stallTimeout: 1000, ...options, onProgress: (p) => {
    if (p.phase !== 'download') { events.push(p); return; }
    if (p.loaded < (last[p.from] ?? 0)) monotone = false;
    last[p.from] = p.loaded;
  } });
  try {
    check(monotone, `${file}: download progress went backwards`);
    const { prompt, tokens: want } = env.cases[file];
    const out = await m.generate(prompt, { maxTokens: want.length });
    check(same(out.tokens, want), `${file}: tokens ${out.tokens} ≠ llama.cpp's ${want}`);
    const s = await served(env);
    return { info: m.info, events, bodies: s.bodies, size: s.size, log: s.log };
  } finally {
    m.dispose();
  }
}

const CHUNK_BOUND = 1 << 20; // a fetch chunk is at most this (Chromium: 64 KiB; Node: ≤ 1 MiB)

export const scenarios = {
  async secondLoadFromCache(env) {
    await env.Model.clearCache();
    await control(env, { file: 'a' });
    const first = await load(env, 'a');
    check(first.info.cache.status === 'stored' && first.info.cached === true, `first load: ${JSON.stringify(first.info.cache)}`);
    check(first.bodies.count === 1 && first.bodies.bytes === first.size, `first load fetched ${JSON.stringify(first.bodies)}`);
    await control(env);
    const second = await load(env, 'a');
    check(second.info.cache.status === 'hit', `second load: ${JSON.stringify(second.info.cache)}`);
    check(second.bodies.count === 0, `second load made ${second.bodies.count} body requests: ${JSON.stringify(second.log)}`);
    check(second.events.every((e) => e.from !== 'network'), 'second load reported network progress');
    return { revalidation: second.info.cache.revalidation };
  },

  async offline(env) {
    await control(env, { down: true });
    const r = await load(env, 'a');
    await control(env);
    check(r.info.cache.status === 'hit', `server down: ${JSON.stringify(r.info.cache)}`);
    check(/offline/.test(r.info.cache.revalidation), `revalidation: ${r.info.cache.revalidation}`);
  },

  async changedOnServer(env) {
    await control(env, { file: 'b', etagSuffix: '-v2' });
    const r = await load(env, 'b');
    check(r.info.cache.status === 'stored' && r.bodies.count === 1, `changed file: ${JSON.stringify(r.info.cache)} ${JSON.stringify(r.bodies)}`);
    await control(env, { file: 'a' });
    const back = await load(env, 'a');
    check(back.info.cache.status === 'stored', `changed back: ${JSON.stringify(back.info.cache)}`);
  },

  async damagedEntry(env) {
    const out = {};
    for (const kind of ['flip', 'truncate']) {
      await control(env, { file: 'a' });
      await env.damage(kind);
      const r = await load(env, 'a');
      check(r.info.cache.status === 'stored' && r.bodies.count === 1, `${kind}: ${JSON.stringify(r.info.cache)} ${JSON.stringify(r.bodies)}`);
      out[kind] = r.events.find((e) => e.phase === 'cache')?.reason ?? '(no event: the entry was dropped at lookup)';
      await control(env);
      const again = await load(env, 'a');
      check(again.info.cache.status === 'hit' && again.bodies.count === 0, `${kind}, reloaded: ${JSON.stringify(again.info.cache)}`);
    }
    return out;
  },

  async integrity(env) {
    await control(env, { file: 'a' });
    const wrong = `sha256-${'A'.repeat(43)}=`;
    let code = null;
    let message = '';
    try { await load(env, 'a', { integrity: wrong }); } catch (e) { code = e.code; message = e.message; }
    check(code === 'INTEGRITY_MISMATCH', `wrong integrity: ${code} ${message}`);
    const listed = await env.Model.listCached();
    check(!listed.some((r) => r.url.endsWith('/flaky/model.gguf')), 'a file failing its integrity was cached');
    await control(env);
    const right = await load(env, 'a', { integrity: env.integrity.a });
    check(right.info.cache.status === 'stored', `right integrity: ${JSON.stringify(right.info.cache)}`);
    const rec = (await env.Model.listCached()).find((r) => r.url.endsWith('/flaky/model.gguf'));
    check(`sha256-${rec?.sha256}` === env.integrity.a, `record: ${JSON.stringify(rec)}`);
    await control(env);
    const hit = await load(env, 'a', { integrity: env.integrity.a });
    check(hit.info.cache.status === 'hit' && hit.bodies.count === 0, `integrity hit: ${JSON.stringify(hit.info.cache)}`);
    let invalid = null;
    try { await load(env, 'a', { integrity: 'md5-abc' }); } catch (e) { invalid = e.code; }
    check(invalid === 'INVALID_OPTION', `malformed integrity: ${invalid}`);
    return { message };
  },

  async resumes(env) {
    const { size } = await control(env, { file: 'a' });
    const cases = {
      'cut in the header': [{ cutAt: 1000 }],
      'cut in a tensor': [{ cutAt: Math.floor(size * 0.6) }],
      'cut in the last chunk': [{ cutAt: size - 100 }],
      'two cuts': [{ cutAt: Math.floor(size * 0.3) }, { cutAt: Math.floor(size * 0.7) }],
      stall: [{ stallAt: Math.floor(size / 2) }],
    };
    const out = {};
    for (const [name, plan] of Object.entries(cases)) {
      await env.Model.clearCache();
      await control(env, { file: 'a', plan });
      const r = await load(env, 'a');
      const resumed = r.log.filter((e) => e.status === 206).length;
      check(resumed === plan.length, `${name}: ${resumed} range requests for ${plan.length} breaks: ${JSON.stringify(r.log)}`);
      check(r.bodies.bytes <= size + plan.length * CHUNK_BOUND, `${name}: fetched ${r.bodies.bytes} bytes of ${size}`);
      check(r.info.cache.status === 'stored', `${name}: ${JSON.stringify(r.info.cache)}`);
      const loaded = r.events.filter((e) => e.phase === 'retry').length;
      check(loaded === plan.length, `${name}: ${loaded} retry events`);
      await control(env);
      const again = await load(env, 'a');
      check(again.info.cache.status === 'hit' && again.bodies.count === 0, `${name}: the resumed download's cache entry: ${JSON.stringify(again.info.cache)}`);
      out[name] = r.bodies.bytes - size;
    }
    return out;
  },

  async changedMidDownload(env) {
    // Cut mid-way, and the file is replaced meanwhile: the resume's If-Range no longer
    // matches, the server sends the new file whole, and the load restarts on it.
    await env.Model.clearCache();
    const { size } = await control(env, { file: 'a' });
    await control(env, { file: 'a', plan: [{ cutAt: Math.floor(size / 2), then: { file: 'b', etagSuffix: '-v2' } }] });
    const r = await load(env, 'b');
    check(r.events.some((e) => e.phase === 'retry' && e.restart), 'no restart event');
    check(r.log.some((e) => e.range && e.status === 200), `the resume was not answered whole: ${JSON.stringify(r.log)}`);
    check(r.info.cache.status === 'stored', `changed mid-download: ${JSON.stringify(r.info.cache)}`);
    await control(env, { file: 'b', etagSuffix: '-v2' });
    const again = await load(env, 'b');
    check(again.info.cache.status === 'hit' && again.bodies.count === 0, 'the restarted download was not cached as the new file');
  },

  async noRangeSupport(env) {
    await env.Model.clearCache();
    const { size } = await control(env, { file: 'a' });
    await control(env, { file: 'a', ranges: false, plan: [{ cutAt: Math.floor(size / 2) }] });
    const r = await load(env, 'a');
    check(r.events.some((e) => e.phase === 'retry' && e.restart), 'no restart event');
    check(r.bodies.count === 2 && r.bodies.bytes <= size + Math.floor(size / 2) + CHUNK_BOUND, `no ranges: ${JSON.stringify(r.bodies)}`);
    check(r.info.cache.status === 'stored', `no ranges: ${JSON.stringify(r.info.cache)}`);
    await control(env);
    const again = await load(env, 'a');
    check(again.info.cache.status === 'hit' && again.bodies.count === 0, 'no ranges: the restarted download was not cached intact');
  },

  async tooManyFailures(env) {
    await env.Model.clearCache();
    await control(env, { file: 'a', plan: [{ cutAt: 1000 }, { cutAt: 1000 }, { cutAt: 1000 }] });
    let code = null;
    try { await load(env, 'a', { retries: 2 }); } catch (e) { code = e.code; }
    check(code === 'GGUF_TRUNCATED', `three cuts at one offset with retries: 2 → ${code}`);
    check((await env.Model.listCached()).length === 0, 'a failed download left a cache entry');
  },

  async storageFailure(env) {
    await env.Model.clearCache();
    await control(env, { file: 'a' });
    const { options, restore } = await env.storageFailure();
    let r;
    try { r = await load(env, 'a', options); } finally { await restore(); }
    check(r.info.cached === false && r.info.cache.status === 'off' && r.info.cache.reason, `storage failure: ${JSON.stringify(r.info.cache)}`);
    check(r.events.some((e) => e.phase === 'cache' && e.cached === false), 'no cache progress event');
    return { reason: r.info.cache.reason };
  },

  async management(env) {
    await env.Model.clearCache();
    const { size } = await control(env, { file: 'a' });
    await load(env, 'a');
    const url = `${env.base}/flaky/model.gguf`;
    const list = await env.Model.listCached();
    check(list.length === 1 && list[0].url === url && list[0].size === size, `listCached: ${JSON.stringify(list)}`);
    const usage = await env.Model.cacheUsage();
    check(usage.bytes === size && usage.models === 1 && usage.quota > 0, `cacheUsage: ${JSON.stringify(usage)}`);
    check(await env.Model.deleteCached(url) === true, 'deleteCached → false');
    check(await env.Model.deleteCached(url) === false, 'deleteCached twice → true');
    check((await env.Model.listCached()).length === 0, 'deleted entry still listed');
    await load(env, 'a');
    await env.Model.clearCache();
    check((await env.Model.cacheUsage()).bytes === 0, 'clearCache left bytes');
    const off = await load(env, 'a', { cache: false });
    check(off.info.cached === false && off.info.cache.reason === 'cache: false', `cache: false → ${JSON.stringify(off.info.cache)}`);
    check((await env.Model.listCached()).length === 0, 'cache: false wrote an entry');
  },
};
