import { runTap } from '@singer-ts/singer';

import { spec } from './spec';
import { TapKaggle } from './tap';

/** The `tap-kaggle` executable. */
export function main(): void {
  runTap(spec, (config, context) => new TapKaggle(config, context));
}
