import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { generateSample, writeKaggleZip } from './sample-dataset';

const USAGE = `Usage: node scripts/devkit/dist/generate-sample.js --out DIR [--scale N] [--seed S] [--zip FILE] [--no-extras]

Writes an Olist-shaped sample of Kaggle's olistbr/brazilian-ecommerce dataset.

  --out DIR      folder for the CSV files (created if missing)
  --scale N      1 = the real row counts (99,441 orders); default 0.01
  --seed S       same seed and scale, same bytes; default 1
  --zip FILE     also zip the CSV files as Kaggle's download comes
  --no-extras    only the four files the pipeline loads
  -h, --help     this text
`;

/** The `generate-sample` command; resolves with the exit status. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        scale: { type: 'string', default: '0.01' },
        seed: { type: 'string', default: '1' },
        zip: { type: 'string' },
        'no-extras': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`generate-sample: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const scale = Number(values.scale);
  if (!values.out || !Number.isFinite(scale) || scale <= 0) {
    process.stderr.write(
      `generate-sample: ${values.out ? `--scale must be a positive number, got ${values.scale}` : '--out is required'}\n${USAGE}`,
    );
    return 2;
  }

  const started = process.hrtime.bigint();
  const outDir = resolve(values.out);
  const { files } = await generateSample({ scale, seed: values.seed, outDir, extras: !values['no-extras'] });
  const generatedMs = Number(process.hrtime.bigint() - started) / 1e6;
  let totalRows = 0;
  let totalBytes = 0;
  for (const f of files) {
    totalRows += f.rows;
    totalBytes += f.bytes;
    process.stdout.write(`${f.name.padEnd(40)} ${String(f.rows).padStart(9)} rows ${mb(f.bytes).padStart(9)}\n`);
  }
  process.stdout.write(
    `${'total'.padEnd(40)} ${String(totalRows).padStart(9)} rows ${mb(totalBytes).padStart(9)}` +
      `  in ${(generatedMs / 1000).toFixed(2)} s (${Math.round(totalRows / (generatedMs / 1000))} rows/s) -> ${outDir}\n`,
  );
  if (values.zip) {
    const zipStarted = process.hrtime.bigint();
    const zip = await writeKaggleZip(files, resolve(values.zip));
    const zipMs = Number(process.hrtime.bigint() - zipStarted) / 1e6;
    process.stdout.write(`zip ${zip.path} ${mb(zip.bytes)} in ${(zipMs / 1000).toFixed(2)} s\n`);
  }
  process.stdout.write(`peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}\n`);
  return 0;
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(2)} MB`;
}

if (require.main === module) {
  main().then(
    (status) => {
      process.exitCode = status;
    },
    (err: unknown) => {
      process.stderr.write(`generate-sample: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
