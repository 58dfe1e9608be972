// Records llama.cpp's tokenizer behaviour as JSON fixtures in tests/fixtures/tokenizer/.
//
//   node scripts/oracle/make_tokenizer_fixtures.mjs [--no-cargo] [--skip-gemma]
//
// First runs `cargo test --test fixture_writers -- --ignored tokenizer_vocabs` (unless --no-cargo),
// which (re)writes the synthetic vocab-only GGUFs deterministically, then asks llama.cpp about them
// and about the Gemma 3 file.
//
// llama.cpp is node-llama-cpp@3.21.1's prebuilt CPU build, installed in tools/oracle
// (`cd tools/oracle && npm ci --ignore-scripts`). node-llama-cpp's JS API loads each vocabulary
// (vocab-only) and gives tokenize(text, parse_special) with add_special = false and
// detokenize(ids, unparse_special) with remove_special = false. The rest of the public llama.h
// tokenizer API — llama_tokenize with add_special, llama_detokenize with remove_special,
// llama_token_to_piece and llama_vocab_get_attr / is_eog for every token — comes from a small
// C helper (tokenizer_oracle.c) linked against the same prebuilt libllama; every answer both
// paths give is checked to agree before anything is written.
//
// The Gemma model is read from $WASM_CHORD_MODEL or ~/.cache/wasm-chord/models/ (`npm run
// fetch-model`).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";

import { llamaCppInfo, llamaLibDir, llamaSrcDir, ORACLE, REPO, requireOracleInstall } from "./llama_src.mjs";
import { INPUTS, STRESS } from "./tokenizer_inputs.mjs";

const FIXTURES = join(REPO, "tests/fixtures/tokenizer");
const SYNTHETIC = [
  "spm.gguf",
  "spm-phi3.gguf",
  "bpe-llama3.gguf",
  "bpe-gpt2.gguf",
  "bpe-qwen2.gguf",
  "bpe-smollm.gguf",
  "bpe-gpt4o.gguf",
  "bpe-default.gguf",
  "bpe-jina-lstrip.gguf",
];
const GEMMA = process.env.WASM_CHORD_MODEL || join(homedir(), ".cache/wasm-chord/models/gemma-3-270m-q4_k_m.gguf");
/// The long prompt: the inputs joined by "\n", repeated until at least this many bytes.
const LONG_BYTES = 100 * 1024;

function buildHelper() {
  const src = join(REPO, "scripts/oracle/tokenizer_oracle.c");
  const exe = join(ORACLE, "build/tokenizer_oracle");
  if (existsSync(exe) && statSync(exe).mtimeMs > statSync(src).mtimeMs) return exe;
  const inc = llamaSrcDir();
  const lib = llamaLibDir();
  mkdirSync(join(ORACLE, "build"), { recursive: true });
  execFileSync(
    "cc",
    ["-O1", "-std=c11", "-Wall", "-I", join(inc, "include"), "-I", join(inc, "ggml/include"), src, "-L", lib,
      "-l:libllama.v0.4.0.so", "-l:libggml.v0.4.0.so", "-l:libggml-base.so", `-Wl,-rpath,${lib}`, "-o", exe],
    { stdio: "inherit" },
  );
  return exe;
}

const hex = (buf) => Buffer.from(buf).toString("hex");
const unhex = (s) => (s === "-" ? Buffer.alloc(0) : Buffer.from(s, "hex"));
const parseIds = (s) => (s === "" ? [] : s.split(",").map(Number));

/// Runs the C helper on request lines; returns its output lines.
function ask(exe, model, lines) {
  const req = join(ORACLE, `build/tokenizer-requests-${process.pid}.txt`);
  writeFileSync(req, lines.join("\n") + "\n");
  try {
    const out = execFileSync(exe, [model, req], { maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "inherit"] }).toString("latin1");
    return out.split("\n").filter((l) => l.length > 0);
  } finally {
    unlinkSync(req);
  }
}

/// Like `ask` for one tokenize request, but a crash of llama.cpp gives null.
function tokenizeOrCrash(exe, model, text) {
  try {
    return ask(exe, model, [`T ${hex(Buffer.from(text, "utf8"))}`])[0].slice(2).split(";").map(parseIds);
  } catch (e) {
    if (e.signal) {
      console.error(`   llama.cpp died with ${e.signal} tokenizing ${Buffer.byteLength(text)} bytes starting ${JSON.stringify(text.slice(0, 12))}`);
      return null;
    }
    throw e;
  }
}

/// Bytes as a JSON value: the string when valid UTF-8, else {"hex": …}.
function bytesValue(buf) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    return { hex: hex(buf) };
  }
}

/// FNV-1a 64 of a byte sequence, as 16 hex digits (64-bit arithmetic on two 32-bit halves:
/// prime = 2^40 + 0x1b3).
function fnv1a64(bytes) {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (const b of bytes) {
    lo = (lo ^ b) >>> 0;
    const loMul = lo * 0x1b3;
    hi = (Math.imul(hi, 0x1b3) + ((lo << 8) >>> 0) + Math.floor(loMul / 4294967296)) >>> 0;
    lo = loMul >>> 0;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

const u32le = (n) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];

/// Digest of all pieces: FNV-1a 64 over each piece as (u32 LE length, bytes).
const piecesDigest = (pieces) => fnv1a64(pieces.flatMap((p) => [...u32le(p.length), ...p]));

/// Digest of an id sequence: FNV-1a 64 over the ids as u32 LE.
const idsDigest = (ids) => fnv1a64(ids.flatMap(u32le));

/// JSON with arrays of scalars kept on one line.
function pretty(v, indent = "") {
  const inner = indent + " ";
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== "object")) return JSON.stringify(v);
    if (v.length === 0) return "[]";
    return "[\n" + v.map((x) => inner + pretty(x, inner)).join(",\n") + "\n" + indent + "]";
  }
  if (v !== null && typeof v === "object") {
    const flat = JSON.stringify(v);
    if (flat.length <= 120) return flat;
    const keys = Object.keys(v);
    return "{\n" + keys.map((k) => inner + JSON.stringify(k) + ": " + pretty(v[k], inner)).join(",\n") + "\n" + indent + "}";
  }
  return JSON.stringify(v);
}

function rng(seed) {
  let s = BigInt(seed);
  return (n) => {
    s ^= (s << 13n) & 0xffffffffffffffffn;
    s ^= s >> 7n;
    s ^= (s << 17n) & 0xffffffffffffffffn;
    return Number(s % BigInt(n));
  };
}

function longPrompt() {
  const base = INPUTS.join("\n");
  const reps = Math.ceil(LONG_BYTES / Buffer.byteLength(base));
  return base.repeat(reps);
}

async function oracle(llama, exe, modelPath, { full }) {
  const name = basename(modelPath);
  console.error(`== ${name}`);

  // Vocabulary: ids, attributes, end-of-generation, pieces.
  const vlines = ask(exe, modelPath, ["V"]);
  const head = vlines[0].split(" ");
  const [nTokens, bos, eos, eot, sep, nl, pad, addBos, addEos, vocabType] = head.slice(1).map(Number);
  const attrs = new Array(nTokens);
  const eog = [];
  const plain = new Array(nTokens);
  const special = new Array(nTokens);
  for (const line of vlines.slice(1)) {
    const [, id, attr, isEog, p0, p1] = line.split(" ");
    attrs[+id] = +attr;
    if (isEog === "1") eog.push(+id);
    plain[+id] = unhex(p0);
    special[+id] = unhex(p1);
  }
  const attrRuns = [];
  for (let i = 0; i < nTokens; i++) {
    const last = attrRuns.at(-1);
    if (last && last[2] === attrs[i] && last[0] + last[1] === i) last[1]++;
    else attrRuns.push([i, 1, attrs[i]]);
  }

  // Tokenization of every input, all four (add_special, parse_special) combinations.
  const long = longPrompt();
  const tlines = ask(exe, modelPath, [...INPUTS, long].map((t) => `T ${hex(Buffer.from(t, "utf8"))}`));
  const tokenized = tlines.map((l) => l.slice(2).split(";").map(parseIds));
  const longIds = tokenized.pop();
  // One process per stress text: llama.cpp's std::regex-based splitters (the "default"
  // pre-tokenizer) can overflow the stack on long runs.
  const stressIds = STRESS.map(([unit, n]) => tokenizeOrCrash(exe, modelPath, unit.repeat(n)));

  // Detokenization: of the inputs' ids, of random ids, and of byte tokens that split or
  // break UTF-8 characters.
  const seqs = [];
  tokenized.forEach((t) => seqs.push(t[3]));
  const next = rng(0x5eed + nTokens);
  for (let i = 0; i < 40; i++) {
    const len = 1 + next(16);
    seqs.push(Array.from({ length: len }, () => next(nTokens)));
  }
  const byteToken = new Map();
  for (let id = 0; id < nTokens; id++) {
    if (special[id].length === 1 && !byteToken.has(special[id][0]) && (attrs[id] & (32 | 4))) byteToken.set(special[id][0], id);
  }
  const bytesSeq = (bytes) => bytes.map((b) => byteToken.get(b)).filter((x) => x !== undefined);
  for (const bytes of [
    [...Buffer.from("€")],
    [...Buffer.from("😀 é")],
    [0xe2, 0x82],
    [0xff, 0x41],
    [0x80],
    [0xf0, 0x9f, 0x98],
    [...Buffer.from("a ' b . c 's")],
  ]) {
    const s = bytesSeq(bytes);
    if (s.length) seqs.push(s, bos >= 0 ? [bos, ...s] : s);
  }
  const dlines = ask(exe, modelPath, seqs.map((s) => `D ${s.join(",")}`));
  const detok = dlines.map((l) => l.split(" ").slice(1).map(unhex));

  // Cross-check against node-llama-cpp's own binding. (Loading a weightless file logs
  // "missing tensor 'token_embd.weight'" once: node-llama-cpp probes a full load before the
  // vocab-only one. Harmless.)
  const model = await llama.loadModel({ modelPath, vocabOnly: true });
  INPUTS.forEach((text, i) => {
    for (const parse of [false, true]) {
      const js = model.tokenize(text, parse);
      const c = tokenized[i][parse ? 1 : 0];
      if (JSON.stringify(js) !== JSON.stringify(c)) {
        throw new Error(`${name}: node tokenize(${JSON.stringify(text)}, ${parse}) = ${js} but llama_tokenize = ${c}`);
      }
    }
  });
  seqs.forEach((s, i) => {
    for (const unparse of [false, true]) {
      const js = model.detokenize(s, unparse);
      const c = new TextDecoder().decode(detok[i][unparse ? 1 : 0]);
      if (js !== c) throw new Error(`${name}: node detokenize(${s}, ${unparse}) = ${JSON.stringify(js)} but llama_detokenize = ${JSON.stringify(c)}`);
    }
  });
  if (model.tokens.bos !== (bos >= 0 ? bos : null) || model.tokens.eos !== (eos >= 0 ? eos : null)) {
    throw new Error(`${name}: node bos/eos ${model.tokens.bos}/${model.tokens.eos} vs C ${bos}/${eos}`);
  }
  for (let id = 0; id < nTokens; id += full ? 1 : 97) {
    if (model.isEogToken(id) !== eog.includes(id)) throw new Error(`${name}: is_eog(${id}) disagrees`);
  }
  await model.dispose();

  const orNull = (x) => (x >= 0 ? x : null);
  const pieceList = [];
  for (let id = 0; id < nTokens; id++) {
    if (full || id % 997 === 0 || (attrs[id] !== 4 && id < 2000)) pieceList.push([id, bytesValue(plain[id]), bytesValue(special[id])]);
  }
  return {
    source: `${llamaCppInfo()} via scripts/oracle/make_tokenizer_fixtures.mjs`,
    model: name,
    model_sha256: createHash("sha256").update(readFileSync(modelPath)).digest("hex"),
    vocab: {
      n_tokens: nTokens,
      type: vocabType === 1 ? "spm" : vocabType === 2 ? "bpe" : String(vocabType),
      bos: orNull(bos),
      eos: orNull(eos),
      eot: orNull(eot),
      sep: orNull(sep),
      nl: orNull(nl),
      pad: orNull(pad),
      add_bos: addBos === 1,
      add_eos: addEos === 1,
      eog,
      attr_runs: attrRuns,
      pieces_digest: { plain: piecesDigest(plain), special: piecesDigest(special) },
      // [id, piece(special = false), piece(special = true)]: every token of the synthetic
      // vocabularies; for Gemma the non-normal tokens below 2000 and every 997th token (the
      // digests cover all).
      pieces: pieceList,
    },
    // ids[k] for (add_special, parse_special) = (false,false) (false,true) (true,false) (true,true)
    tokenize: INPUTS.map((text, i) => ({ text, ids: tokenized[i] })),
    long_prompt: {
      about: `INPUTS joined by "\\n", repeated to >= ${LONG_BYTES} bytes; ids digest = FNV-1a 64 over u32 LE ids`,
      bytes: Buffer.byteLength(long),
      counts: longIds.map((x) => x.length),
      digests: longIds.map(idsDigest),
    },
    // null counts/digests: llama.cpp crashed on that input (see the script's log).
    stress: STRESS.map(([unit, repeat], i) => ({
      unit,
      repeat,
      counts: stressIds[i] && stressIds[i].map((x) => x.length),
      digests: stressIds[i] && stressIds[i].map(idsDigest),
    })),
    // out[k] for (remove_special, unparse_special) = (false,false) (false,true) (true,false) (true,true)
    detokenize: seqs.map((ids, i) => ({ ids, out: detok[i].map(bytesValue) })),
  };
}

async function main() {
  requireOracleInstall();
  const exe = buildHelper();
  const { getLlama } = await import(join(ORACLE, "node_modules/node-llama-cpp/dist/index.js"));
  const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, logLevel: "error" });

  const skipGemma = process.argv.includes("--skip-gemma");
  if (!process.argv.includes("--no-cargo")) {
    execFileSync("cargo", ["test", "--quiet", "--test", "fixture_writers", "--", "--ignored", "--exact", "tokenizer_vocabs"], { cwd: REPO, stdio: "inherit" });
  }
  const jobs = SYNTHETIC.map((f) => [join(FIXTURES, f), f.replace(/\.gguf$/, ".json"), true]);
  if (!skipGemma) {
    if (!existsSync(GEMMA)) throw new Error(`Gemma model not found at ${GEMMA}: run \`npm run fetch-model\` (or pass --skip-gemma)`);
    jobs.push([GEMMA, "gemma-3-270m.json", false]);
  }
  for (const [path, out, full] of jobs) {
    if (!existsSync(path)) throw new Error(`${path} missing: run \`cargo test --test fixture_writers -- --ignored tokenizer_vocabs\` first`);
    const fx = await oracle(llama, exe, path, { full });
    const file = join(FIXTURES, out);
    writeFileSync(file, pretty(fx) + "\n");
    console.error(`wrote ${file} (${statSync(file).size} bytes)`);
  }
}

await main();
