import type { ConnectorSpec } from '@singer-ts/singer';

import { configSchema, normalizeConfig, type TapKaggleConfig } from './config';
import { mergeFileStates } from './merge-states';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../package.json') as { version: string };

/**
 * What the harness needs to know about tap-kaggle. Credentials are deliberately not listed as
 * `env` fallbacks: `credentials.ts` resolves them in the Kaggle CLI's order (a config value
 * wins over the environment, KAGGLE_API_TOKEN may name a file).
 */
export const spec: ConnectorSpec<TapKaggleConfig> = {
  name: 'tap-kaggle',
  version,
  description: "Singer tap: a Kaggle dataset's CSV files, one stream each, read from the Kaggle API (or a downloaded archive)",
  capabilities: ['catalog', 'discover', 'state', 'about'],
  configSchema,
  normalize: normalizeConfig,
  units: { configKey: 'unit', mergeStates: mergeFileStates },
};
