// The CLI compiled into one ES module bundle (plus lazily loaded chunks) under .build/cli,
// rebuilt on the first run after any source changes. Run through tsx, every `mirl`
// command spent about a second of CPU compiling and resolving modules through tsx's loader
// before it did anything; the bundle starts in half that, which is what keeps
// `sweep status` under a second. There is still no build step to forget: a stale or
// missing bundle is rebuilt here, and anything unusual (a read-only checkout, no esbuild)
// falls back to running the sources through tsx.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const BUILD_DIR = path.join(ROOT, '.build', 'cli');
const ENTRY = path.join(ROOT, 'cli', 'main.ts');
const SKIP = new Set(['node_modules', 'test', '.build', '.git', '.mirl', '.venv', 'tmp', 'docs', 'sweeps']);

/** Every TypeScript source the CLI may import, found by walking the checkout (a few ms). */
function sources(dir = ROOT, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIP.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sources(full, out);
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

/** Changes when any source's path, size or modification time does, or the bundler does. */
export function sourceStamp() {
  const hash = createHash('sha256');
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  hash.update(readFileSync(path.join(ROOT, 'package-lock.json')));
  for (const file of sources().sort()) {
    const s = statSync(file);
    hash.update(`${path.relative(ROOT, file)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

/**
 * Each module keeps its own import.meta.url: mirl finds the trainer, the workflows, the
 * JAX peer and the repository root relative to its source files, which a bundle would
 * otherwise move.
 */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      return {
        contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
        loader: 'ts',
      };
    });
  },
};

const OLD_BUILD_MS = 24 * 3600 * 1000;

async function build(dir) {
  const { build: esbuild } = await import('esbuild');
  // Built beside its final place and renamed into it, so two commands started at once
  // never read a half-written bundle.
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await esbuild({
    entryPoints: [ENTRY],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    keepNames: true,
    outdir: tmp,
    logLevel: 'silent',
    plugins: [keepModuleUrls],
  });
  try {
    renameSync(tmp, dir);
  } catch (err) {
    // Another command built the same sources first: theirs is as good.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(path.join(dir, 'main.js'))) throw err;
  }
}

/**
 * Bundles of older sources are removed a day after they were built: a long-running
 * process (a worker) may still load chunks from the one it started with.
 */
function removeOldBuilds(keep) {
  const now = Date.now();
  for (const name of readdirSync(BUILD_DIR)) {
    const full = path.join(BUILD_DIR, name);
    if (full !== keep && now - statSync(full).mtimeMs > OLD_BUILD_MS) rmSync(full, { recursive: true, force: true });
  }
}

/** The bundle's entry, built first if the sources changed; null when it cannot be had. */
export async function builtCli() {
  if (process.env.MIRL_CLI_BUILD === '0') return null;
  try {
    const dir = path.join(BUILD_DIR, sourceStamp().slice(0, 16));
    if (!existsSync(path.join(dir, 'main.js'))) {
      mkdirSync(BUILD_DIR, { recursive: true });
      await build(dir);
      removeOldBuilds(dir);
    }
    return pathToFileURL(path.join(dir, 'main.js')).href;
  } catch (err) {
    if (process.env.MIRL_CLI_BUILD === '1') throw err;
    return null;
  }
}
