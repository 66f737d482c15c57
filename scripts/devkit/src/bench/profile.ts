/**
 * Where a process's time went, per record, from a V8 CPU profile (`node --cpu-prof`): self
 * time of each function, summed into the stages of a Singer connector. `npm run bench:target
 * -- --profile` prints it for each target run; `node scripts/devkit/dist/bench/profile.js
 * FILE.cpuprofile RECORDS` for any profile.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Stages, matched in order against `function url` of each frame; the first match wins. */
const STAGES: readonly [string, RegExp][] = [
  ['waiting (idle)', /^\(idle\)/],
  ['garbage collection', /^\(garbage collector\)/],
  ['start-up (loading modules)', /wrapSafe|compileForInternalLoader|requireBuiltin|Module\._|loader:|realm:|readFileUtf8/],
  ['reading input (stdin, UTF-8, lines)', /readLineBatches|string_decoder|onStreamRead|streams\/readable|fromList|createAsyncIterator|readableAddChunk|^read /],
  ['parsing JSON (generic path)', /parseExactJson|JSON\.parse|toMessage|lossless-json|MessageParser|^RegExp: \[:,\[\]/],
  ['matching and checking records', /^RegExp: \^\\\{|record-scanner|datetime\.js|RecordLineReader/],
  ['validating (generic path)', /validate|ajv/],
  ['encoding COPY rows', /copy-encoder|encodeScanned|processScanned|processRecord|pushRow|numberText|metadataFields/],
  ['handing rows to the socket', /writeBuffer|utf8Write|writeUtf8String|copy-feed|pg-session|Socket|stream_base|net\.js|node:net|writev|pg-copy-streams|node_modules\/pg/],
  ['SDK loop', /singer\/dist\/(target|sink|reader)\.js|runMicrotasks|processTicksAndRejections|nextTick|task_queues/],
];

export interface ProfileSummary {
  totalSeconds: number;
  /** Stage → seconds of self time. */
  stages: Map<string, number>;
  /** The functions with the most self time, `name url:line` → seconds. */
  top: [string, number][];
}

export async function summarizeProfile(file: string, topCount = 12): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    const micros = profile.timeDeltas[i] ?? 0;
    total += micros;
    const url = (frame?.url ?? '').replace(/^.*\/(packages|node_modules)\//, '$1/');
    const key = `${frame?.functionName || '(anonymous)'} ${url}:${(frame?.lineNumber ?? 0) + 1}`;
    self.set(key, (self.get(key) ?? 0) + micros);
  });
  const stages = new Map<string, number>(STAGES.map(([name]) => [name, 0]));
  stages.set('other', 0);
  for (const [key, micros] of self) {
    const stage = STAGES.find(([, pattern]) => pattern.test(key))?.[0] ?? 'other';
    stages.set(stage, (stages.get(stage) ?? 0) + micros / 1e6);
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, topCount).map(([key, micros]): [string, number] => [key, micros / 1e6]);
  return { totalSeconds: total / 1e6, stages, top };
}

/** The summary as text: per stage, seconds and µs per record. */
export function formatProfile(summary: ProfileSummary, records: number): string {
  const perRecord = (seconds: number): string => ((seconds * 1e6) / records).toFixed(2).padStart(7);
  const lines = [`profile: ${summary.totalSeconds.toFixed(2)} s sampled, ${records.toLocaleString('en-US')} records`, '  µs/record  seconds  stage'];
  const busy = [...summary.stages].filter(([name]) => name !== 'waiting (idle)').reduce((sum, [, s]) => sum + s, 0);
  for (const [name, seconds] of [...summary.stages].sort((a, b) => b[1] - a[1])) {
    if (seconds > 0) lines.push(`  ${perRecord(seconds)}  ${seconds.toFixed(2).padStart(7)}  ${name}`);
  }
  lines.push(`  ${perRecord(busy)}  ${busy.toFixed(2).padStart(7)}  busy in all (everything but waiting)`, '  top functions (self time):');
  for (const [key, seconds] of summary.top) lines.push(`  ${perRecord(seconds)}  ${seconds.toFixed(2).padStart(7)}  ${key.slice(0, 110)}`);
  return lines.join('\n');
}

if (require.main === module) {
  const [file, records] = process.argv.slice(2);
  if (!file || !records) {
    console.error('usage: node scripts/devkit/dist/bench/profile.js FILE.cpuprofile RECORDS');
    process.exitCode = 2;
  } else {
    summarizeProfile(file).then(
      (summary) => console.log(formatProfile(summary, Number(records))),
      (error: unknown) => {
        console.error(error instanceof Error ? error.message : error);
        process.exitCode = 1;
      },
    );
  }
}
