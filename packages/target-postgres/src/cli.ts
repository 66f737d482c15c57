import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { type ConnectorSpec, runTarget } from '@singer-ts/singer';

import { CONFIG_ENV, CONFIG_SCHEMA, normalizeConfig, type TargetPostgresConfig } from './config';
import { TargetPostgres } from './target';

const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };

export const TARGET_POSTGRES_SPEC: ConnectorSpec<TargetPostgresConfig> = {
  name: 'target-postgres',
  version,
  description:
    'Singer target: loads Singer streams into PostgreSQL with COPY, exactly, committing at every STATE so a re-run from the last printed state neither loses nor duplicates rows.',
  capabilities: ['about', 'activate-version', 'hard-delete', 'soft-delete', 'target-schema', 'validate-records'],
  configSchema: CONFIG_SCHEMA,
  env: CONFIG_ENV,
  normalize: (raw, { env, logger }) => normalizeConfig(raw, env, logger),
};

export function main(): void {
  runTarget(TARGET_POSTGRES_SPEC, (config, context) => new TargetPostgres(config, context));
}
