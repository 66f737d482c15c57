import { exitWith } from './pipeline/environment';
import { childEnv, parseUnitCli, SHARED_USAGE, unitPipeline,UsageError } from './pipeline/unit-cli';
import { listUnits, planLine } from './pipeline/units';

const USAGE = `Usage: node scripts/devkit/dist/plan-units.js --stage 1|2 [--config-dir singer-config] [options]

Prints the units of a stage of the Olist pipeline, one JSON line each, in the order
run-unit --index counts them:  {"stage":2,"unit":"<id>","table":"<table>"}
and their count on stderr. A tap that can split its work (--list-units) says what its units
are; otherwise each file (stage 1) or table (stage 2) is a unit.

${SHARED_USAGE}

Services come from the environment, as the connectors read them: KAGGLE_USERNAME/KAGGLE_KEY
or KAGGLE_API_TOKEN; AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
`;

async function main(): Promise<void> {
  const options = parseUnitCli(process.argv.slice(2), {}, process.env);
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  const { pipeline, cleanup } = await unitPipeline(options);
  try {
    const log = options.quiet ? () => undefined : (line: string) => void process.stderr.write(`${line}\n`);
    const units = await listUnits(pipeline.stages[options.stage], childEnv(), log);
    process.stdout.write(units.map((unit) => `${planLine(unit)}\n`).join(''));
    process.stderr.write(`${units.length} unit${units.length === 1 ? '' : 's'} in stage ${options.stage}\n`);
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`ERROR plan-units: ${(error as Error).message}\n`);
  exitWith(error instanceof UsageError ? 2 : 1);
});
