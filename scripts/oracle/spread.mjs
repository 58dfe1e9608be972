#!/usr/bin/env node
// How far our logits sit from llama.cpp's, next to how far llama.cpp's own kernel paths sit from
// each other, teacher-forced along the greedy paths of the synthetic fixtures
// (tests/fixtures/oracle/synthetic-*.json, recorded with the plain path: no repacking, flash
// attention off, F32 KV cache).
//
//     node scripts/oracle/spread.mjs [--models DIR] [--variants q4_0,kquant,...]
//
// For each synthetic model, llama.cpp re-runs the fixture's tokens (dump_logits force) with one
// setting switched at a time (weight repacking on, flash attention on, both, an F16 KV cache) and
// our engine runs them natively (examples/teacher_forced.rs --top-logits; F32 and F16 KV). Every
// row compares the logits at the fixture's top-10 ids of every step with the fixture's: max |Δ|,
// mean |Δ|. "llama.cpp plain" must print 0 (the fixture reproduced). Needs what
// model-fixtures.mjs needs (node-llama-cpp in tools/oracle, gcc, cargo).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { REPO, buildDumpLogits, dump } from "./llama_src.mjs";

const LLAMA_PATHS = [
  ["llama.cpp plain", {}],
  ["llama.cpp repack", { DUMP_LOGITS_REPACK: "1" }],
  ["llama.cpp flash-attn", { DUMP_LOGITS_FLASH: "1" }],
  ["llama.cpp repack+flash", { DUMP_LOGITS_REPACK: "1", DUMP_LOGITS_FLASH: "1" }],
  ["llama.cpp f16 KV", { DUMP_LOGITS_KV_F16: "1" }],
];
// llama.cpp's Vulkan backend (every layer offloaded; Mesa's lavapipe here), same F32 KV cache
// and flash attention off: how far llama.cpp's own GPU kernels sit from its CPU ones. ggml's
// Vulkan backend skips CPU-type devices such as lavapipe unless they are named.
const LLAMA_GPU_PATHS = [
  ["llama.cpp Vulkan", { DUMP_LOGITS_GPU: "1", GGML_VK_VISIBLE_DEVICES: process.env.GGML_VK_VISIBLE_DEVICES ?? "0" }],
];
const OURS = [
  ["wasm-chord f32 KV", "f32"],
  ["wasm-chord f16 KV", "f16"],
];

function parseArgs(argv) {
  const args = { models: null, variants: ["q8_0", "q4_0", "kquant", "mixed", "qwen2", "qwen3", "gemma", "gemma2", "llama3", "phi3"] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--models") args.models = resolve(argv[++i]);
    else if (argv[i] === "--variants") args.variants = argv[++i].split(",");
    else throw new Error(`unknown argument ${argv[i]}\nusage: spread.mjs [--models DIR] [--variants a,b]`);
  }
  return args;
}

/** |Δ| statistics of `logitsAt(caseIndex, stepIndex)` (values at the step's top ids) vs the fixture. */
function stats(fx, logitsAt) {
  let max = 0, sum = 0, n = 0, flips = 0, flipGap = 0;
  fx.cases.forEach((c, ci) => c.steps.forEach((st, si) => {
    const ours = logitsAt(ci, si);
    st.top.forEach(([, l], k) => {
      const d = Math.abs(ours[k] - l);
      max = Math.max(max, d);
      sum += d;
      n++;
    });
    // A top-1 flip: this path's best among the fixture's top ids is not the fixture's best.
    const best = ours.reduce((b, v, k) => (v > ours[b] ? k : b), 0);
    if (best !== 0) {
      flips++;
      flipGap = Math.max(flipGap, st.top[0][1] - st.top[1][1]);
    }
  }));
  return { max, mean: sum / n, flips, flipGap };
}

function llamaRows(bin, model, fx, dir, paths = LLAMA_PATHS, flavor = "cpu") {
  const req = join(dir, "force.txt");
  writeFileSync(req, fx.cases.map((c) => {
    const toks = [...c.prompt_tokens, ...c.greedy_tokens.slice(0, c.steps.length - 1)];
    return `F ${c.prompt_tokens.length} ${toks.join(",")}\n`;
  }).join(""));
  return paths.map(([name, env]) => {
    const out = dump(bin, ["force", model, String(fx.n_ctx), req], { env: { ...process.env, ...env } }, flavor);
    const cases = out.split("E\n").filter((b) => b.trim()).map((b) =>
      b.trim().split("\n").map((l) => l.slice(2).split(" ").map(Number)));
    return [name, stats(fx, (ci, si) => fx.cases[ci].steps[si].top.map(([id]) => cases[ci][si][id]))];
  });
}

function ourRows(model, fixturePath, fx) {
  return OURS.map(([name, kv]) => {
    const out = execFileSync("cargo", ["run", "--quiet", "--release", "--example", "teacher_forced", "--",
      model, fixturePath, "--kv", kv, "--top-logits"], { cwd: REPO, encoding: "utf8", maxBuffer: 1 << 26 });
    const cases = JSON.parse(out);
    return [name, stats(fx, (ci, si) => cases[ci][si])];
  });
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const bin = buildDumpLogits();
  let gpuBin = null;
  try {
    gpuBin = buildDumpLogits("vulkan");
  } catch (e) {
    console.log(`(no llama.cpp Vulkan row: ${e.message.split("\n")[0]})`);
  }
  const work = mkdtempSync(join(tmpdir(), "wasm-chord-spread-"));
  try {
    const models = args.models ?? work;
    if (!args.models) {
      execFileSync("cargo", ["test", "--quiet", "--test", "fixture_writers", "--", "--ignored", "--exact", "synthetic_models"], {
        cwd: REPO, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, WASM_CHORD_FIXTURE_DIR: models },
      });
    }
    for (const v of args.variants) {
      const fixturePath = join(REPO, `tests/fixtures/oracle/synthetic-${v}.json`);
      const fx = JSON.parse(readFileSync(fixturePath, "utf8"));
      const model = join(models, fx.model);
      console.log(`\n${fx.model}: teacher-forced logits at the fixture's top-10 ids, vs llama.cpp plain`);
      const gpuRows = gpuBin ? llamaRows(gpuBin, model, fx, work, LLAMA_GPU_PATHS, "vulkan") : [];
      for (const [name, s] of [...llamaRows(bin, model, fx, work), ...gpuRows, ...ourRows(model, fixturePath, fx)]) {
        console.log(`  ${name.padEnd(24)} max |Δ| ${s.max.toFixed(4)}  mean |Δ| ${s.mean.toFixed(4)}  top-1 flips ${s.flips} (largest fixture gap ${s.flipGap.toFixed(3)})`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
