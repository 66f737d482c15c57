/**
 * `npm run fuzz:target [-- --runs N] [-- --seed S] [-- --commands N] [-- --without a,b]
 * [-- --budget SECONDS]`: the model-based test of target-postgres
 * (packages/target-postgres/test/integration/model-based.test.ts) with more cases than
 * `npm test` runs. Without --budget it runs every case and shrinks a failure to the end.
 * A failure prints its seed and a line that replays it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const TEST = 'packages/target-postgres/test/integration/model-based.test.ts';

/** Option → the test's environment variable. */
const OPTIONS: Record<string, string> = {
  '--runs': 'FC_RUNS',
  '--seed': 'FC_SEED',
  '--path': 'FC_PATH',
  '--replay-path': 'FC_REPLAY_PATH',
  '--commands': 'FUZZ_TARGET_COMMANDS',
  '--without': 'FUZZ_TARGET_WITHOUT',
  '--budget': 'FUZZ_TARGET_BUDGET_S',
};

function parseOptions(argv: string[]): Record<string, string> {
  const env: Record<string, string> = { FC_RUNS: '200' };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const [name, inline] = arg.split('=', 2) as [string, string | undefined];
    const variable = OPTIONS[name];
    const value = inline ?? argv[++i];
    if (variable === undefined || value === undefined) {
      throw new Error(`usage: npm run fuzz:target -- ${Object.keys(OPTIONS).map((o) => `[${o} VALUE]`).join(' ')} (got ${arg})`);
    }
    env[variable] = value;
  }
  return env;
}

async function main(): Promise<void> {
  const env = parseOptions(process.argv.slice(2));
  const jest = join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
  const child = spawn(process.execPath, [jest, TEST, '--selectProjects', 'target-postgres'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: 'inherit',
  });
  const [code] = (await once(child, 'close')) as [number | null];
  process.exitCode = code ?? 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
