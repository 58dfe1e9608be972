#!/usr/bin/env node
// Golden model fixtures from llama.cpp, the reference implementation: prompt tokens, greedy
// continuations and the top raw logits at every generated position, for the engine's
// conformance tests (tests/fixtures/oracle/*.json; tests/oracle_fixtures.rs checks them).
//
// Regenerate everything (one command, from anywhere in the repo):
//
//     node scripts/oracle/model-fixtures.mjs            # all fixtures
//     node scripts/oracle/model-fixtures.mjs --only synthetic|gemma
//     node scripts/oracle/model-fixtures.mjs --bench    # also measure native llama.cpp speed
//                                                       # on the Gemma file (printed, not stored)
//     options: --keep DIR (keep the synthetic GGUFs there), --crate DIR (run the generator in
//     another checkout, e.g. while the working tree does not build), --variants llama3,phi3
//     (only these synthetic fixtures)
//
// Needs: node-llama-cpp@3.21.1 in tools/oracle (`cd tools/oracle && npm ci --ignore-scripts`),
// gcc, cargo, and for Gemma scripts/fetch-model.sh (downloads and verifies the file once).
//
// What it does:
//  1. compiles scripts/oracle/dump_logits.c against the llama.h of the llama.cpp sources the
//     prebuilt libllama was built from, links that libllama (tools/oracle/build/dump_logits);
//  2. `cargo test --test fixture_writers -- --ignored synthetic_models` writes the synthetic
//     llama/qwen2/qwen3 models (tests/support/synthetic_models.rs) to a temporary directory;
//     their sha256 goes into the fixtures, so tests notice when the generator drifts from what
//     llama.cpp saw;
//  3. runs llama.cpp on the CPU, one thread, greedy (argmax of the raw logits, lowest id on ties),
//     no weight repacking (ggml's plain vec_dot path, as a portable engine computes it), flash
//     attention off, F32 KV cache; the prompt is tokenized by llama.cpp with BOS as the file's
//     metadata says and special-token parsing on;
//  4. writes { model, model_sha256, llama_cpp, n_ctx, cases: [{ prompt, prompt_tokens,
//     greedy_tokens, steps: [{ top: [[id, logit] x 10] }] }] } where steps[i] holds the logits
//     after prompt + greedy_tokens[..i] (so steps[i].top[0][0] == greedy_tokens[i]). Logits are
//     the f32 values, printed in the shortest form that reads back to the same f32.
//
// Synthetic prompts: random weights make near-ties (top-1 ≈ top-2) unavoidable somewhere, so each
// synthetic fixture keeps, from fixed candidate lists, the two plain prompts and the one
// special-token/byte-fallback/code prompt whose 16-step greedy paths have the largest minimum
// top-1/top-2 gap (the special candidates in the vocabulary's own control tokens: SentencePiece
// or, for the byte-level BPE Llama 3, its header/eot markers). The script prints every case's
// minimum gap.
//
// Expected agreement (details in scripts/oracle/README.md): llama.cpp rounds activations to
// Q8_0/Q8_K/f16/bf16 before quantized/F16/BF16 matmuls, so two correct implementations of a
// quantized model drift ~0.1-0.5 apart in the logits once float noise flips one rounding; F32
// models agree to ~1e-5. Compare teacher-forced logits along greedy_tokens with that tolerance,
// and greedy tokens only while the top-1/top-2 gap is above it.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";

import { REPO, buildDumpLogits, dump, llamaCppInfo, requireOracleInstall } from "./llama_src.mjs";

const FIXTURES = join(REPO, "tests/fixtures/oracle");
const N_CTX = 512;
const TOP_K = 10;
const SYNTHETIC_STEPS = 16;
const GEMMA_STEPS = 32;

// Synthetic models: one prompt from SPECIAL_PROMPTS (control tokens, byte fallback, code with
// newlines and indentation) and two from PLAIN_PROMPTS, chosen per model by minimum gap.
const SPECIAL_PROMPTS = [
  "Prix: 12,50 € — naïve café 日本 </s><s> end",
  "fn main() {\n    let x = 42;\n}</s>",
  "<s>hello</s> wörld\ttab ünïcode 🙂",
  "def add(a, b):\n    return a + b  # ok </s>",
];
// The same for a byte-level BPE model (Llama 3's control tokens and user-defined tool markers).
const BPE_SPECIAL_PROMPTS = [
  "<|start_header_id|>user<|end_header_id|>\n\nPrix: 12,50 € — naïve café 日本<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
  "fn main() {\n    let x = 42;\n}<|eot_id|>",
  "hello<|end_of_text|> wörld\ttab ünïcode 🙂 <tool_call>{\"n\": 1}</tool_call>",
  "def add(a, b):\n    return a + b  # ok <|eot_id|>",
];
const PLAIN_PROMPTS = [
  "The quick brown fox jumps over the lazy dog.",
  "Once upon a time, there was a little robot who",
  "hello world",
  "Water boils at a temperature of",
  "1, 2, 3, 4, 5,",
  "My mother and father live in a small house near the sea.",
  "Why do people ask so many questions?",
  "import numpy as np",
];

const GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf";
// Chosen from ~35 candidates for large minimum top-1/top-2 gaps along their 32-step greedy paths
// (all >= ~0.1; real-model gaps are often far smaller).
const GEMMA_PROMPTS = [
  "Water boils at a temperature of",
  "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
  "Here is a list of the planets of the solar system, in order from the Sun:\n1.",
  "<start_of_turn>user\nTranslate to French: Good morning, how are you?<end_of_turn>\n<start_of_turn>model\n",
  "The Moon is Earth's only natural satellite. It orbits at an average distance of about 384,400 " +
    "kilometres, roughly thirty times the diameter of Earth. The Moon always shows the same face to Earth " +
    "because its rotation is synchronised with its orbit, a state called tidal locking. Its gravity " +
    "produces the ocean tides and slowly lengthens the day. The Moon was first visited by a spacecraft in " +
    "1959, and in July 1969 the Apollo 11 mission landed the first humans on its surface. The astronauts " +
    "who walked on the Moon were",
  "Zürich, Genève und Bern sind Städte in der",
];

function parseArgs(argv) {
  const args = { only: null, bench: false, keep: null, crate: REPO, variants: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--only") args.only = argv[++i];
    else if (a === "--bench") args.bench = true;
    else if (a === "--keep") args.keep = argv[++i]; // write the synthetic models there and keep them
    else if (a === "--crate") args.crate = argv[++i]; // run the generator from another checkout
    else if (a === "--variants") args.variants = argv[++i].split(","); // only these synthetic fixtures
    else throw new Error(`unknown argument ${a}\nusage: model-fixtures.mjs [--only synthetic|gemma] [--variants a,b] [--bench] [--keep DIR] [--crate DIR]`);
  }
  if (args.only && !["synthetic", "gemma"].includes(args.only)) throw new Error(`--only synthetic|gemma, not ${args.only}`);
  return args;
}

function versionString(bin) {
  const out = dump(bin, ["info"]);
  const build = out.match(/^I (\d+) (\S+)/m);
  const sys = out.match(/^S (.*)$/m)[1].trim().replace(/\s*\|\s*$/, "");
  return `${llamaCppInfo()}, build-info b${build[1]}-${build[2]}; ` +
    `CPU backend, 1 thread, no weight repacking, flash attention off, F32 KV cache; ${sys}`;
}

/** Shortest decimal that reads back (as f32) to the same f32 as `x`. */
function f32Text(x) {
  const want = Math.fround(x);
  for (let p = 1; p <= 9; p++) {
    const s = String(Number(want.toPrecision(p)));
    if (Math.fround(Number(s)) === want) return s;
  }
  return String(want);
}

/** Runs llama.cpp on `prompts`; returns one case per prompt, plus per-case gap statistics. */
function runCases(bin, model, prompts, steps) {
  const dir = mkdtempSync(join(tmpdir(), "wasm-chord-oracle-"));
  try {
    const req = join(dir, "requests.txt");
    writeFileSync(req, prompts.map((p) => `P ${Buffer.from(p, "utf8").toString("hex")}\n`).join(""));
    const out = dump(bin, ["run", model, String(N_CTX), String(steps), String(TOP_K), req]);
    const cases = [];
    let cur = null;
    for (const line of out.split("\n")) {
      if (line.startsWith("T ")) {
        cur = {
          prompt: prompts[cases.length],
          prompt_tokens: line.slice(2).split(",").filter((s) => s).map(Number),
          greedy_tokens: [], steps: [], gaps: [],
        };
      } else if (line.startsWith("S ")) {
        const f = line.slice(2).split(" ");
        const top = [];
        for (let i = 2; i < f.length; i += 2) top.push([Number(f[i]), f32Text(Number(f[i + 1]))]);
        if (top[0][0] !== Number(f[0])) throw new Error(`argmax ${f[0]} is not the first of the top list`);
        cur.greedy_tokens.push(Number(f[0]));
        cur.gaps.push(Number(f[1]));
        cur.steps.push({ top });
      } else if (line === "E") {
        if (cur.steps.length !== steps) throw new Error(`expected ${steps} steps, got ${cur.steps.length}`);
        cases.push(cur);
        cur = null;
      }
    }
    if (cases.length !== prompts.length) throw new Error(`expected ${prompts.length} cases, got ${cases.length}`);
    return cases;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const minGap = (c) => Math.min(...c.gaps);

/** The fixture text: one line per step, the f32 logits as their shortest decimal. */
function fixtureJson({ model, sha256, llamaCpp, cases }) {
  const s = JSON.stringify;
  const lines = [
    "{",
    `  "model": ${s(model)},`,
    `  "model_sha256": ${s(sha256)},`,
    `  "llama_cpp": ${s(llamaCpp)},`,
    `  "n_ctx": ${N_CTX},`,
    `  "cases": [`,
  ];
  cases.forEach((c, ci) => {
    lines.push("    {");
    lines.push(`      "prompt": ${s(c.prompt)},`);
    lines.push(`      "prompt_tokens": ${s(c.prompt_tokens)},`);
    lines.push(`      "greedy_tokens": ${s(c.greedy_tokens)},`);
    lines.push(`      "steps": [`);
    c.steps.forEach((st, si) => {
      const top = st.top.map(([id, logit]) => `[${id}, ${logit}]`).join(", ");
      lines.push(`        { "top": [${top}] }${si + 1 < c.steps.length ? "," : ""}`);
    });
    lines.push("      ]");
    lines.push(`    }${ci + 1 < cases.length ? "," : ""}`);
  });
  lines.push("  ]", "}", "");
  const text = lines.join("\n");
  JSON.parse(text); // well-formed
  return text;
}

function writeFixture(name, fixture) {
  mkdirSync(FIXTURES, { recursive: true });
  const path = join(FIXTURES, name);
  writeFileSync(path, fixtureJson(fixture));
  console.log(`wrote ${path} (${statSync(path).size} bytes)`);
  for (const c of fixture.cases) {
    const g = minGap(c);
    console.log(`  min top-1/top-2 gap ${g.toFixed(4)} at step ${c.gaps.indexOf(g)}, ` +
      `${c.prompt_tokens.length} prompt tokens: ${JSON.stringify(c.prompt).slice(0, 60)}`);
  }
}

async function sha256File(path) {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk);
  return h.digest("hex");
}

function synthetic(bin, llamaCpp, keep, crate, variants) {
  const dir = resolve(keep ?? mkdtempSync(join(tmpdir(), "wasm-chord-synthetic-")));
  try {
    console.log(`synthetic models -> ${dir}`);
    execFileSync("cargo", ["test", "--quiet", "--test", "fixture_writers", "--", "--ignored", "--exact", "synthetic_models"], {
      cwd: crate, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, WASM_CHORD_FIXTURE_DIR: dir },
    });
    const models = readFileSync(join(dir, "manifest.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    for (const m of models) {
      if (variants && !variants.includes(m.variant)) continue;
      const sha = createHash("sha256").update(readFileSync(m.path)).digest("hex");
      if (sha !== m.sha256) throw new Error(`${m.file}: sha256 from Rust ${m.sha256} != node ${sha}`);
      const special = runCases(bin, m.path, m.tokenizer === "gpt2" ? BPE_SPECIAL_PROMPTS : SPECIAL_PROMPTS, SYNTHETIC_STEPS);
      const plain = runCases(bin, m.path, PLAIN_PROMPTS, SYNTHETIC_STEPS);
      const best = (cases, n) => cases
        .map((c, i) => [c, i])
        .sort((a, b) => minGap(b[0]) - minGap(a[0]) || a[1] - b[1])
        .slice(0, n)
        .sort((a, b) => a[1] - b[1])
        .map(([c]) => c);
      const cases = [...best(plain, 2), ...best(special, 1)];
      console.log(`${m.file}: ${m.bytes} bytes, sha256 ${m.sha256}`);
      writeFixture(`synthetic-${m.variant}.json`, { model: m.file, sha256: m.sha256, llamaCpp, cases });
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

function gemmaPath() {
  return execFileSync("bash", [join(REPO, "scripts/fetch-model.sh")], {
    encoding: "utf8", stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}

async function gemma(bin, llamaCpp) {
  const path = gemmaPath();
  if (basename(path) !== GEMMA_FILE) throw new Error(`fetch-model.sh returned ${path}, expected ${GEMMA_FILE}`);
  const sha = await sha256File(path);
  const cases = runCases(bin, path, GEMMA_PROMPTS, GEMMA_STEPS);
  writeFixture("gemma3-270m-q4_k_m.json", { model: GEMMA_FILE, sha256: sha, llamaCpp, cases });
}

function bench(bin) {
  const path = gemmaPath();
  for (const threads of [1, 2]) {
    const out = dump(bin, ["bench", path, "128", "64", String(threads), "3"]);
    const [, np, ng, nt, pp, tg] = out.trim().split(/\s+/);
    console.log(`native llama.cpp on ${GEMMA_FILE}, ${nt} thread(s): prefill ${pp} tok/s (${np}-token prompt), ` +
      `decode ${tg} tok/s (${ng} tokens)`);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  requireOracleInstall();
  const bin = buildDumpLogits();
  const llamaCpp = versionString(bin);
  console.log(`llama.cpp: ${llamaCpp}`);
  if (args.only !== "gemma") synthetic(bin, llamaCpp, args.keep, args.crate, args.variants);
  if (args.only !== "synthetic") await gemma(bin, llamaCpp);
  if (args.bench) bench(bin);
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exit(1);
});
