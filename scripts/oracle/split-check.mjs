// llama.cpp reads the shards our splitter writes: the default model (or MODEL.gguf) split by
// scripts/split.mjs, then llama.cpp (dump_logits `run`: greedy tokens and the top logits at
// every step) on the fixture prompts from the single file and from the first shard must print
// the very same thing. The package's own loading of the shards is tests/js/split.test.mjs.
//
//   node scripts/oracle/split-check.mjs [MODEL.gguf] [--max-size 100M]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, buildDumpLogits, dump, requireOracleInstall } from './llama_src.mjs';

const args = process.argv.slice(2);
const i = args.indexOf('--max-size');
const max = i >= 0 ? args.splice(i, 2)[1] : '100M';
const model = args[0] ?? process.env.WASM_CHORD_MODEL ?? join(homedir(), '.cache', 'wasm-chord', 'models', 'gemma-3-270m-q4_k_m.gguf');
requireOracleInstall();
const bin = buildDumpLogits();
const prompts = JSON.parse(readFileSync(join(REPO, 'tests', 'fixtures', 'oracle', 'gemma3-270m-q4_k_m.json'), 'utf8')).cases.map((c) => c.prompt);

const dir = mkdtempSync(join(tmpdir(), 'wasm-chord-split-check-'));
try {
  const shards = execFileSync('node', [join(REPO, 'scripts', 'split.mjs'), model, '--max-size', max, '--out', join(dir, 'model')], { encoding: 'utf8' }).trim().split('\n');
  console.log(`${shards.length} shards of at most ${max} of tensors`);
  const req = join(dir, 'requests.txt');
  writeFileSync(req, prompts.map((p) => `P ${Buffer.from(p, 'utf8').toString('hex')}\n`).join(''));
  const run = (path) => dump(bin, ['run', path, '512', '16', '10', req]);
  const single = run(model);
  const split = run(shards[0]);
  const steps = single.split('\n').filter((l) => l.startsWith('S ')).length;
  if (single !== split) {
    console.log('DIFFERENT: llama.cpp prints other tokens or logits for the shards');
    process.exitCode = 1;
  } else {
    console.log(`llama.cpp on the shards: identical tokens and top-10 logits at all ${steps} steps of ${prompts.length} prompts`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
