import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { type ConnectorSpec, runTarget } from '@singer-ts/singer';

import { CONFIG_ENV, CONFIG_SCHEMA, normalizeConfig, type ProcessorConfig } from './config';
import { Processor } from './processor';

const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };

export const PROCESSOR_SPEC: ConnectorSpec<ProcessorConfig> = {
  name: 'processor',
  version,
  description:
    'Reads Singer messages on stdin, cleans records by per-stream rules, writes each stream as one CSV object per run to MinIO/S3, and prints state values as a target does.',
  capabilities: ['about'],
  configSchema: CONFIG_SCHEMA,
  env: CONFIG_ENV,
  normalize: normalizeConfig,
};

export function main(): void {
  runTarget(PROCESSOR_SPEC, (config, context) => new Processor(config, context));
}
