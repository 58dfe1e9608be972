// Builds the npm package into pkg/: wasm-pack with a profile from wasm-pack.toml, then merges
// pkg.json (the manifest fields we own) into the package.json wasm-pack generated.
// Usage: node scripts/build.mjs [--profile release|dev]
import { readFileSync, writeFileSync, existsSync, statSync, copyFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const profileName = args.includes('--profile') ? args[args.indexOf('--profile') + 1] : 'release';
const profiles = parse(readFileSync(join(root, 'wasm-pack.toml'), 'utf8')).profile ?? {};
const profile = profiles[profileName];
if (!profile) {
  console.error(`build: no [profile.${profileName}] in wasm-pack.toml (have: ${Object.keys(profiles).join(', ')})`);
  process.exit(1);
}

const outDir = join(root, profile.out_dir ?? 'pkg');
const wpArgs = ['build', `--${profile.mode ?? 'release'}`, '--target', profile.target ?? 'web',
  '--out-dir', outDir, '--out-name', 'wasm_chord', '--mode', 'no-install', '--no-opt'];
if (profile.features?.length) wpArgs.push('--features', profile.features.join(','));
console.error(`build: wasm-pack ${wpArgs.join(' ')}`);
execFileSync('wasm-pack', wpArgs, { cwd: root, stdio: 'inherit' });

const wasm = join(outDir, 'wasm_chord_bg.wasm');
if (Array.isArray(profile.wasm_opt)) {
  // Only npm binaryen: Debian's wasm-opt 108 corrupts wasm-bindgen's externref table.
  const wasmOpt = join(root, 'tools', 'node_modules', '.bin', 'wasm-opt');
  if (!existsSync(wasmOpt)) {
    console.error('build: installing binaryen into tools/ for wasm-opt');
    execFileSync('npm', ['install', '--prefix', join(root, 'tools'), '--no-audit', '--no-fund', 'binaryen@132.0.0'], { stdio: 'inherit' });
  }
  execFileSync(wasmOpt, [...profile.wasm_opt, wasm, '-o', wasm], { stdio: 'inherit' });
}

// The hand-written ESM API (Model, WorkerModel) wraps wasm-bindgen's glue.
for (const f of readdirSync(join(root, 'src', 'js'))) copyFileSync(join(root, 'src', 'js', f), join(outDir, f));

const generated = JSON.parse(readFileSync(join(outDir, 'package.json'), 'utf8'));
const owned = JSON.parse(readFileSync(join(root, 'pkg.json'), 'utf8'));
// Ours win for every field we own; wasm-pack contributes the version (from Cargo.toml) and the rest.
const merged = { ...generated, ...owned, version: generated.version };
writeFileSync(join(outDir, 'package.json'), JSON.stringify(merged, null, 2) + '\n');
console.error(`build: ${outDir} (wasm ${(statSync(wasm).size / 1024).toFixed(0)} KiB, profile ${profileName})`);
