import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { generateSampleZip } from '../sample-dataset';
import { replaceFile } from './replace-file';

/** The seed of the sample `npm start` serves. */
export const SAMPLE_SEED = 1;

export interface SampleZipRequest {
  /** `npm start`'s data folder; samples go to its `sample/` folder. */
  dataDir: string;
  scale: number;
  seed?: number | string;
  /** The dataset version the zip is served as (a later one has changed rows). */
  version: number;
  /** zlib's deflate level for the entries, 0 to store them; see `generateSampleZip`. */
  level?: number;
  /** Called before a sample is generated (not when one is reused). */
  onGenerate?: () => void;
}

export interface SampleZip {
  path: string;
  /** False when the zip of an earlier run was reused. */
  generated: boolean;
}

/** Where the zip for a scale, seed and version is kept. */
export function sampleZipPath(dataDir: string, scale: number, seed: number | string, version: number): string {
  return join(dataDir, 'sample', `olist-scale-${scale}-seed-${seed}-v${version}.zip`);
}

/**
 * The sample's zip for a scale, seed and version, generated once and reused by later runs:
 * the same three give the same rows, and a zip only ever appears whole at its path (it is
 * written beside it and renamed), so finding it means it is complete.
 */
export async function cachedSampleZip(request: SampleZipRequest): Promise<SampleZip> {
  const seed = request.seed ?? SAMPLE_SEED;
  const path = sampleZipPath(request.dataDir, request.scale, seed, request.version);
  if (existsSync(path)) return { path, generated: false };
  request.onGenerate?.();
  await mkdir(join(request.dataDir, 'sample'), { recursive: true });
  await generateSampleZip({ scale: request.scale, seed, version: request.version, zipPath: path, level: request.level });
  return { path, generated: true };
}

/** A sample a data folder served, and the dataset version it was served as. */
export interface ServedSample {
  scale: number;
  seed: string;
  /** The generator's version (`--sample-version`): which rows changed. */
  sample_version: number;
  /** The version the Kaggle stand-in reported for it. */
  dataset_version: number;
}

export interface ServedVersion {
  /** The dataset version to serve the sample as. */
  version: number;
  /** The sample served before as `request.version`, when that is why `version` differs from it. */
  displaced?: ServedSample;
}

/** Where a data folder records the samples it served (`.data/sample/served-versions.json`). */
export function servedVersionsPath(dataDir: string): string {
  return join(dataDir, 'sample', 'served-versions.json');
}

/**
 * The dataset version the Kaggle stand-in serves a sample as, from the data folder's record of
 * what it served before. Kaggle never changes a version's files, and tap-kaggle relies on it: a
 * version it read whole is not read again. The sample of another scale or seed is other files,
 * so it may not reuse a version number another sample was served as in this data folder (its
 * state remembers that version as read): a sample keeps the version it was first served as,
 * which is `request.version` when no other sample had that number, else one past the highest
 * number served. A folder that served nothing yet serves `request.version`, as before.
 */
export async function servedDatasetVersion(request: Pick<SampleZipRequest, 'dataDir' | 'scale' | 'seed' | 'version'>): Promise<ServedVersion> {
  const seed = String(request.seed ?? SAMPLE_SEED);
  const path = servedVersionsPath(request.dataDir);
  let served: ServedSample[] = [];
  try {
    served = JSON.parse(await readFile(path, 'utf8')) as ServedSample[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${path}: ${(error as Error).message}; delete it to start the record again`);
  }
  const same = served.find((s) => s.scale === request.scale && s.seed === seed && s.sample_version === request.version);
  if (same !== undefined) return { version: same.dataset_version };
  const displaced = served.find((s) => s.dataset_version === request.version);
  const version = displaced === undefined ? request.version : Math.max(...served.map((s) => s.dataset_version)) + 1;
  served.push({ scale: request.scale, seed, sample_version: request.version, dataset_version: version });
  await replaceFile(path, `${JSON.stringify(served, null, 2)}\n`);
  return displaced === undefined ? { version } : { version, displaced };
}
