import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { generateSampleZip } from '../sample-dataset';

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
