import { runTap } from '@singer-ts/singer';

import { spec } from './spec';
import { TapMinioCsv } from './tap';

/** The `tap-minio-csv` executable. */
export function main(): void {
  // NOTE: the AWS SDK prints a 9-line notice on Node 20 that its 2027 releases will need Node 22;
  // Node 20 is this project's floor, and the notice is not a log line Meltano can parse.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  runTap(spec, (config, context) => new TapMinioCsv(config, context));
}
