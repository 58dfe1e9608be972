// Teacher-forced top-1 agreement between implementations of the same Gemma forward pass, on
// llama.cpp's fixture (tests/fixtures/oracle/gemma3-270m-q4_k_m.json): llama.cpp itself, our
// CPU path built natively (scalar reference kernels) and for wasm (SIMD128, run here under
// Node from target/pkg-test/, the build with the test hooks), optionally our WebGPU pass natively (--gpu: wgpu on Vulkan, e.g. lavapipe)
// and our native CPU path with one F32 tensor changed by one unit in the last place
// (--perturb TENSOR). Prints the pairwise agreement over the first 64 positions (the two
// prompts the tests use) and over all of them, and every disagreement with the CPU path's
// top-2 gap. Prints figures; asserts nothing.
//
//   npm run build && node scripts/compare-top1.mjs [--gpu] [--perturb blk.0.attn_norm.weight]
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const fixturePath = join(root, 'tests', 'fixtures', 'oracle', 'gemma3-270m-q4_k_m.json');
const fixture = JSON.parse(readFileSync(fixturePath, 'utf8'));
const modelPath = execFileSync('bash', [join(root, 'scripts', 'fetch-model.sh')], { encoding: 'utf8' }).trim();

// Vulkan's loader complains (and lavapipe may fail) without a runtime dir, as in scripts/test.sh.
const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR || mkdtempSync(join(tmpdir(), 'xdg-')) };

function native(...extra) {
  console.error(`compare-top1: cargo run --release --example teacher_forced -- MODEL FIXTURE ${extra.join(' ')}`);
  const out = execFileSync('cargo', ['run', '--quiet', '--release', '--example', 'teacher_forced', '--', modelPath, fixturePath, ...extra],
    { cwd: root, env, encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()).map((c) => c.map(([t, gap]) => ({ t, gap })));
}

async function wasmCpu() {
  console.error('compare-top1: the wasm CPU path (target/pkg-test/, SIMD128, with the test hooks) under Node');
  const { Model } = await import(pathToFileURL(join(root, 'target', 'pkg-test', 'index.js')).href);
  const m = await Model.load(new Uint8Array(readFileSync(modelPath)), { backend: 'cpu', contextLength: fixture.n_ctx });
  try {
    const res = [];
    for (const c of fixture.cases) {
      const steps = c.steps.length;
      const all = Array.from(await m._argmaxAll([...c.prompt_tokens, ...c.greedy_tokens.slice(0, steps - 1)]));
      res.push(all.slice(all.length - steps).map((t) => ({ t, gap: null })));
    }
    return res;
  } finally { m.dispose(); }
}

const impls = {
  'llama.cpp': fixture.cases.map((c) => c.steps.map((s) => ({ t: s.top[0][0], gap: s.top[0][1] - s.top[1][1] }))),
  'CPU native': native(),
  'CPU wasm': await wasmCpu(),
};
if (argv.includes('--gpu')) impls['WebGPU native'] = native('--gpu');
const p = argv.indexOf('--perturb');
if (p >= 0) impls[`CPU native, ${argv[p + 1]} ±1 ulp`] = native('--perturb', argv[p + 1]);

const names = Object.keys(impls);
const agree = (a, b, cases) => {
  let same = 0, total = 0;
  for (const ci of cases) {
    impls[a][ci].forEach((x, i) => { total++; same += x.t === impls[b][ci][i].t; });
  }
  return `${same}/${total}`;
};
const first2 = [0, 1];
const every = fixture.cases.map((_, i) => i);
for (const [title, cases] of [['first 64 positions (prompts 1-2, as the tests)', first2], [`all ${every.length} prompts`, every]]) {
  console.log(`\nTeacher-forced top-1 agreement, ${title}:\n`);
  console.log(`| | ${names.join(' | ')} |`);
  console.log(`|---|${names.map(() => '---:').join('|')}|`);
  for (const a of names) console.log(`| ${a} | ${names.map((b) => (a === b ? '–' : agree(a, b, cases))).join(' | ')} |`);
}
console.log('\nDisagreements (prompt, position: top-1 of each; gap = CPU native top-1 − top-2 logit, llama.cpp gap in brackets):\n');
const cpu = impls['CPU native'];
fixture.cases.forEach((_, ci) => cpu[ci].forEach((x, i) => {
  const tops = names.map((n) => impls[n][ci][i].t);
  if (new Set(tops).size > 1) {
    console.log(`- prompt ${ci + 1}, position ${i}: ${names.map((n, k) => `${n} ${tops[k]}`).join(', ')}; gap ${x.gap.toFixed(3)} (${impls['llama.cpp'][ci][i].gap.toFixed(3)})`);
  }
}));
