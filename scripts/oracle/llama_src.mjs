// Locates the llama.cpp build that node-llama-cpp@3.21.1 ships (tools/oracle), and the
// llama.cpp sources it was built from (the git bundle inside the npm package), so the oracle
// helpers compile against exactly the headers of the prebuilt libllama they link.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const ORACLE = join(REPO, "tools/oracle");
export const NLC_VERSION = "3.21.1";
const NLC = join(ORACLE, "node_modules/node-llama-cpp");

export function requireOracleInstall() {
  const pkg = join(NLC, "package.json");
  if (!existsSync(pkg)) {
    throw new Error(
      `node-llama-cpp is not installed in ${ORACLE}.\n` +
        `Run: (cd tools/oracle && npm ci --ignore-scripts)   # installs node-llama-cpp@${NLC_VERSION}`,
    );
  }
  const v = JSON.parse(readFileSync(pkg, "utf8")).version;
  if (v !== NLC_VERSION) throw new Error(`tools/oracle has node-llama-cpp ${v}, expected ${NLC_VERSION}`);
  return NLC;
}

// node-llama-cpp's prebuilt linux-x64 builds: the CPU one (the fixtures' oracle) and the Vulkan
// one (an optional dependency npm installs next to it; scripts/oracle/spread.mjs's GPU row).
const FLAVORS = {
  cpu: { pkg: "linux-x64", llama: "libllama.v0.4.0.so", ggml: "libggml.v0.4.0.so", bin: "dump_logits" },
  vulkan: { pkg: "linux-x64-vulkan", llama: "libllama.vulkan.v0.4.0.so", ggml: "libggml.vulkan.v0.4.0.so", bin: "dump_logits_vulkan" },
};

/** Directory holding a prebuilt libllama for linux-x64 (`flavor`: cpu or vulkan). */
export function llamaLibDir(flavor = "cpu") {
  requireOracleInstall();
  const f = FLAVORS[flavor];
  const dir = join(ORACLE, `node_modules/@node-llama-cpp/${f.pkg}/bins/${f.pkg}`);
  if (!existsSync(join(dir, f.llama))) throw new Error(`prebuilt libllama (${flavor}) not found in ${dir}`);
  return dir;
}

/** llama.cpp sources (checked out once from the bundle into tools/oracle/llama.cpp-src). */
export function llamaSrcDir() {
  const nlc = requireOracleInstall();
  const dir = join(ORACLE, "llama.cpp-src");
  if (!existsSync(join(dir, "include/llama.h"))) {
    const bundle = join(nlc, "llama/gitRelease.bundle");
    execFileSync("git", ["-c", "advice.detachedHead=false", "-c", "init.defaultBranch=main", "clone", "--quiet", bundle, dir], { stdio: "inherit" });
  }
  return dir;
}

export function llamaCppInfo() {
  const nlc = requireOracleInstall();
  const info = JSON.parse(readFileSync(join(nlc, "llama/llama.cpp.info.json"), "utf8"));
  return `node-llama-cpp ${NLC_VERSION} (llama.cpp ${info.llamaCppGithubRepo} release ${info.tag}, prebuilt linux-x64 CPU)`;
}

/**
 * Compiles dump_logits.c against the `flavor` build (when missing or older than its source);
 * returns the binary path.
 */
export function buildDumpLogits(flavor = "cpu") {
  const f = FLAVORS[flavor];
  const src = join(REPO, "scripts/oracle/dump_logits.c");
  const out = join(ORACLE, "build", f.bin);
  const lib = llamaLibDir(flavor);
  if (existsSync(out) && statSync(out).mtimeMs > statSync(src).mtimeMs) return out;
  const inc = llamaSrcDir();
  mkdirSync(join(ORACLE, "build"), { recursive: true });
  execFileSync("gcc", [
    "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
    "-I", join(inc, "include"), "-I", join(inc, "ggml/include"),
    src, "-o", out,
    join(lib, f.llama), join(lib, f.ggml), join(lib, "libggml-base.so"),
    join(lib, "libllama-common.so"), `-Wl,-rpath,${lib}`, "-lm",
  ], { stdio: "inherit" });
  return out;
}

/** Runs dump_logits `args[0]` with the backend directory, then `args[1..]`; its stdout. */
export function dump(bin, args, opts = {}, flavor = "cpu") {
  return execFileSync(bin, [args[0], llamaLibDir(flavor), ...args.slice(1)], {
    encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "inherit"], ...opts,
  });
}
