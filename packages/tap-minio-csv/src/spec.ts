import type { ConnectorSpec } from '@singer-ts/singer';

import { CONFIG_ENV, CONFIG_SCHEMA, normalizeConfig, type TapMinioCsvConfig } from './config';
import { mergeUnitStates } from './merge-states';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../package.json') as { version: string };

/** What the harness needs to know about tap-minio-csv. */
export const spec: ConnectorSpec<TapMinioCsvConfig> = {
  name: 'tap-minio-csv',
  version,
  description: 'Singer tap: CSV objects in MinIO/S3, one stream per configured table, read incrementally',
  capabilities: ['catalog', 'properties', 'discover', 'state', 'about'],
  configSchema: CONFIG_SCHEMA,
  env: CONFIG_ENV,
  normalize: normalizeConfig,
  units: { configKey: 'unit', mergeStates: mergeUnitStates },
};
