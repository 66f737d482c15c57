import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { closestName, editDistance, loadConfig, type NormalizeContext } from '../../src';
import { memoryLogger } from '../support/memory-logger';

describe('editDistance', () => {
  it.each([
    ['batch_size_row', 'batch_size_rows', 1],
    ['hsot', 'host', 1],
    ['port', 'port', 0],
    ['dbname', 'database', 5],
    ['', 'abc', 3],
  ])('from %s to %s is %d', (a, b, expected) => {
    expect(editDistance(a, b)).toBe(expected);
  });
});

describe('closestName', () => {
  const keys = ['host', 'port', 'user', 'batch_size_rows', 'load_method', 'default_target_schema'];

  it.each([
    ['batch_size_row', 'batch_size_rows'],
    ['batch-size-rows', 'batch_size_rows'],
    ['Load_Method', 'load_method'],
    ['default_target_shema', 'default_target_schema'],
    ['hots', 'host'],
    ['ab', undefined],
    ['logging_level', undefined],
  ])('suggests %s → %s', (name, expected) => {
    expect(closestName(name, keys)).toBe(expected);
  });
});

describe('loadConfig', () => {
  it('hands normalize the logger and the environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'singer-config-'));
    const path = join(dir, 'config.json');
    await writeFile(path, JSON.stringify({ a: 1 }));
    const logger = memoryLogger();
    let seen: NormalizeContext | undefined;
    await loadConfig({
      paths: [path],
      schema: { type: 'object', properties: { a: { type: 'integer' } } },
      environment: { X: '1' },
      logger,
      normalize: (raw, context) => {
        seen = context;
        context.logger?.warn('noted');
        return raw;
      },
    });
    expect(seen?.env).toEqual({ X: '1' });
    expect(logger.warnings()).toEqual(['WARNING noted']);
  });
});
