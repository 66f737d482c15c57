/**
 * What every executable does before it loads anything else: refuse a Node.js line the project
 * does not support, in one line, and set V8's young generation and heap growth to what the
 * memory goals (peak RSS under 150 MB, flat from 1M to 5M records) hold on with every line. The `bin/*.js` launchers call `launch()`; keep this module free of imports
 * beyond Node's own so that it loads (and explains itself) on any Node.js.
 */
import * as nodeModule from 'node:module';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** The oldest Node.js line the executables run on (`engines` says the same). */
export const MIN_NODE_MAJOR = 22;

/**
 * The young generation's ceiling: two 8 MB semi-spaces. V8's own ceiling grew with each line
 * (32 MB on Node 22, 128 MB on 24, 64 MB on 26), and a connector that streams millions of
 * short-lived records fills whatever it is given before collecting it: at 1M records peak RSS was
 * 134/206/175 MB for target-postgres and 110/147/148 MB for tap-minio-csv on Node 22/24/26. Held
 * at 16 MB: 102/119/115 and 95/102/99 MB, as with `--max-semi-space-size=8`. A scavenge still
 * frees nearly everything (a record lives for one batch at most), so it costs no throughput.
 */
export const YOUNG_GENERATION_BYTES = 16 * 1024 * 1024;

/** The one line to print on an unsupported Node.js, or undefined on a supported one. */
export function unsupportedNodeMessage(name: string, version: string = process.versions.node): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return `${name} needs Node.js ${MIN_NODE_MAJOR} or newer (22, 24 or 26); this is Node.js ${version} (${process.execPath}). Install a supported Node.js and run it again.`;
}

/**
 * How far the old generation may grow past what the last full collection left live, before the
 * next one: 50 %. V8 picks up to 300 % when it allocates fast, and what streams through a
 * connector's batches (large arrays, long strings: large-object space, freed only by a full
 * collection) then piles up: target-postgres's peak RSS grew from ~110 MB at 1M records to
 * ~140 MB at 5M on Node 24, and is ~100 MB at both with 50 %, at the same speed.
 */
export const HEAP_GROWING_PERCENT = 50;

/** True when the user chose a V8 flag matching `pattern` on the command line or in NODE_OPTIONS. */
function chosen(pattern: RegExp): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.some((flag) => pattern.test(flag));
}

const semiSpaceChosen = (): boolean => chosen(/^--(max|min)[-_]semi[-_]space[-_]size/);

/** Caps the old generation's growth factor (unless the user chose one); V8 reads it at each resize. */
export function limitHeapGrowth(percent: number = HEAP_GROWING_PERCENT): void {
  if (chosen(/^--heap[-_]growing[-_]percent/)) return;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Holds the young generation at `bytes` (unless the user chose a size). `--max-semi-space-size`
 * only counts when the isolate is created, so from inside the process the ceiling is kept by
 * V8's growth factor, which it reads at every resize: the young generation grows as usual
 * (doubling) until it reaches the ceiling, then stays; if V8 shrinks it, it may grow back.
 * Checked when the event loop turns after a garbage collection (V8 resizes it during one): a
 * connector streams, so that is every chunk; one long synchronous stretch could outgrow it.
 * Returns a function that stops watching.
 */
export function limitYoungGeneration(bytes: number = YOUNG_GENERATION_BYTES): () => void {
  if (semiSpaceChosen()) return () => undefined;
  let growing = true;
  const adjust = (): void => {
    // Growth doubles (or nearly: 14.5 MB to 29 MB on Node 26), so stop below the ceiling.
    const full = newSpaceBytes() * 2 > bytes;
    if (full === !growing) return;
    growing = !full;
    setFlagsFromString(`--semi-space-growth-factor=${growing ? 2 : 1}`);
  };
  const observer = new PerformanceObserver(adjust);
  observer.observe({ entryTypes: ['gc'] });
  adjust();
  return () => {
    observer.disconnect();
    if (!growing) setFlagsFromString('--semi-space-growth-factor=2');
  };
}

/**
 * Keeps V8's compiled code of the modules loaded from here on in Node.js's compile cache
 * (`NODE_COMPILE_CACHE`, else `<temp dir>/node-compile-cache`), so that the next start reads it
 * instead of compiling again: an executable loads a few hundred modules (the AWS SDK's among
 * them) at each start, which took ~20 % less CPU (0.30 → 0.22 s for the processor, 0.28 →
 * 0.25 s for tap-minio-csv). Node.js 22.8 and later; earlier, and with
 * `NODE_DISABLE_COMPILE_CACHE=1`, nothing changes. A cache that cannot be written is skipped.
 */
export function enableCompileCache(): void {
  const enable = (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache;
  if (typeof enable !== 'function') return;
  try {
    enable();
  } catch {
    // Only ever a speed-up: without it every module is compiled as before.
  }
}

/**
 * Starts an executable: on an unsupported Node.js prints one line and sets exit status 1
 * without loading `start`'s module graph; otherwise enables the compile cache, limits the
 * young generation and the heap's growth and calls `start`.
 */
export function launch(name: string, start: () => unknown): void {
  const message = unsupportedNodeMessage(name);
  if (message !== undefined) {
    process.stderr.write(`${message}\n`);
    process.exitCode = 1;
    return;
  }
  enableCompileCache();
  limitYoungGeneration();
  limitHeapGrowth();
  start();
}
