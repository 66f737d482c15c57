import { runTap } from '@singer-ts/singer';

import { spec } from './spec';
import { TapMinioCsv } from './tap';

/** The `tap-minio-csv` executable. */
export function main(): void {
  runTap(spec, (config, context) => new TapMinioCsv(config, context));
}
