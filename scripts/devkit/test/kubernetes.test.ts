import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Secret } from 'kubernetes-models/v1';
import * as ts from 'typescript';
import { parse, parseAllDocuments } from 'yaml';

const REPO = resolve(__dirname, '../../..');
const DEPLOY = join(REPO, 'deploy/kubernetes');
const read = (name: string): string => readFileSync(join(DEPLOY, name), 'utf8');

type Doc = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string } };

/** Every manifest of deploy/kubernetes (kustomization.yaml is kustomize's, not the API's). */
const manifests: { file: string; doc: Doc }[] = readdirSync(DEPLOY)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .sort()
  .flatMap((file) => parseAllDocuments(read(file)).map((d) => ({ file, doc: d.toJS() as Doc })));

const byName = (kind: string, name: string): Doc => {
  const found = manifests.find((m) => m.doc.kind === kind && m.doc.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return found.doc;
};

/** The API's types for the kinds the folder uses: a validating model and its declared interface. */
const KINDS: Record<string, { model: new (data: never) => { validate(): void }; module: string; type: string }> = {
  'batch/v1/Job': { model: Job as never, module: 'kubernetes-models/batch/v1/Job', type: 'IJob' },
  'v1/ConfigMap': { model: ConfigMap as never, module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'v1/Secret': { model: Secret as never, module: 'kubernetes-models/v1/Secret', type: 'ISecret' },
};
const kindOf = (doc: Doc) => KINDS[`${doc.apiVersion}/${doc.kind}`];

/**
 * What the API server's schema validation says of a manifest: types, enums, formats and
 * required fields, with kubernetes-models' validators (generated from the API's OpenAPI).
 */
function schemaErrors(doc: Doc): string[] {
  const kind = kindOf(doc);
  if (!kind) return [`${doc.apiVersion} ${doc.kind} is not a kind this test knows`];
  try {
    new kind.model(doc as never).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

/** The field at `position` of a manifest's check file, as a path: `spec.template.spec.containers[0].args`. */
function fieldPath(file: ts.SourceFile, position: number): string {
  const path: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAssignment(node)) path.push(`.${(node.name as ts.StringLiteral).text}`);
    if (ts.isArrayLiteralExpression(node)) {
      const index = node.elements.findIndex((e) => e.getStart(file) <= position && position < e.getEnd());
      if (index >= 0) path.push(`[${index}]`);
    }
    const child = node.getChildren(file).find((c) => c.getStart(file) <= position && position < c.getEnd());
    if (child) visit(child);
  };
  visit(file);
  return path.join('').replace(/^\./, '');
}

let previousProgram: ts.Program | undefined;

/**
 * Fields the API does not have. kubernetes-models' validators let unknown fields through (its
 * schemas have no `additionalProperties: false`), while the API server rejects them under
 * kubectl's default --validate=strict, so a typo would pass the check above and fail on the
 * cluster. Its declared interfaces list every field of every type: each manifest is
 * type-checked as an object literal that `satisfies` its kind's interface, and TypeScript's
 * excess-property check names any unknown field at any depth (and its type check any value of
 * the wrong type).
 */
function unknownFieldErrors(docs: { file: string; doc: Doc }[]): string[] {
  const sources = new Map<string, string>();
  docs.forEach(({ file, doc }, i) => {
    const kind = kindOf(doc);
    if (!kind) return;
    const name = join(DEPLOY, `${file}.${i}.check.ts`);
    sources.set(name, `import type { ${kind.type} } from '${kind.module}';\nexport const manifest = ${JSON.stringify(doc, null, 2)} satisfies ${kind.type};\n`);
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) =>
    sources.has(name) ? ts.createSourceFile(name, sources.get(name)!, version, true) : getSourceFile.call(host, name, version, ...rest);
  host.fileExists = (name) => sources.has(name) || fileExists.call(host, name);
  host.readFile = (name) => sources.get(name) ?? readFile.call(host, name);
  // Reusing the last program's files (the API's declarations) makes later checks fast.
  const program = ts.createProgram([...sources.keys()], options, host, previousProgram);
  previousProgram = program;
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (!d.file || d.start === undefined) return message;
    const manifest = d.file.fileName.replace(`${DEPLOY}/`, '').replace(/\.\d+\.check\.ts$/, '');
    return `${manifest}: ${fieldPath(d.file, d.start)}: ${message}`;
  });
}

type Container = {
  name: string;
  image: string;
  command: string[];
  args: string[];
  env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string }[];
};
type PodSpec = {
  restartPolicy: string;
  securityContext: { runAsUser?: number; runAsNonRoot?: boolean };
  containers: Container[];
  volumes: { name: string; configMap?: { name: string } }[];
};
type JobDoc = Doc & {
  spec: { completionMode?: string; completions?: number; parallelism?: number; backoffLimitPerIndex?: number; template: { spec: PodSpec } };
};

const jobs = manifests.filter((m) => m.doc.kind === 'Job').map((m) => m.doc as JobDoc);
const stageJob = (stage: 1 | 2) => byName('Job', `olist-stage${stage}`) as JobDoc;

describe('deploy/kubernetes manifests', () => {
  it('are a ConfigMap of settings, the singer-config ConfigMap, a Secret template and three Jobs', () => {
    expect(manifests.map((m) => `${m.file}: ${m.doc.kind} ${m.doc.metadata.name}`)).toEqual([
      'job-plan.yaml: Job olist-plan',
      'job-stage1.yaml: Job olist-stage1',
      'job-stage2.yaml: Job olist-stage2',
      'pipeline-env.yaml: ConfigMap olist-pipeline-env',
      'secret.example.yaml: Secret olist-pipeline-credentials',
      'singer-config.yaml: ConfigMap singer-config',
    ]);
  });

  it('validate against the Kubernetes API schemas', () => {
    expect(manifests.map(({ file, doc }) => ({ file, errors: schemaErrors(doc) }))).toEqual(
      manifests.map(({ file }) => ({ file, errors: [] })),
    );
  });

  it('use no field the Kubernetes API does not have', () => {
    expect(unknownFieldErrors(manifests)).toEqual([]);
  });

  it('fail both checks on a wrong field', () => {
    const job = structuredClone(stageJob(2));
    const spec = job.spec as Record<string, unknown>;
    // A misspelt field: only the unknown-field check can see it.
    spec.paralellism = spec.parallelism;
    delete spec.parallelism;
    expect(schemaErrors(job)).toEqual([]);
    expect(unknownFieldErrors([{ file: 'job-stage2.yaml', doc: job }])).toEqual([
      expect.stringMatching(/^job-stage2\.yaml: spec\.paralellism: .*'"paralellism"' does not exist in type 'IJobSpec'/),
    ]);
    // A wrong value and a wrong type: both checks see them.
    spec.parallelism = 2;
    spec.completionMode = 'Index';
    (job.spec.template.spec.containers[0] as Record<string, unknown>).args = '--stage 2';
    delete spec.paralellism;
    expect(schemaErrors(job).join('\n')).toMatch(/completionMode must be equal to one of the allowed values/);
    expect(unknownFieldErrors([{ file: 'job-stage2.yaml', doc: job }])).toEqual([
      expect.stringMatching(/^job-stage2\.yaml: spec\.completionMode: Type '"Index"' is not assignable/),
      expect.stringMatching(/^job-stage2\.yaml: spec\.template\.spec\.containers\[0\]\.args: Type 'string' is not assignable/),
    ]);
  });

  it('run each stage as an Indexed Job, one completion per unit, the unit picked by the completion index', () => {
    for (const stage of [1, 2] as const) {
      const { spec } = stageJob(stage);
      expect(spec.completionMode).toBe('Indexed');
      // run-pipeline.sh sets both from plan-units; the committed values are the Olist pipeline's.
      expect(spec.completions).toBe(4);
      expect(spec.parallelism).toBeLessThanOrEqual(spec.completions!);
      expect(spec.backoffLimitPerIndex).toBeGreaterThan(0);
      expect(spec.template.spec.restartPolicy).toBe('Never');
      const [container, ...others] = spec.template.spec.containers;
      expect(others).toEqual([]);
      expect(container!.name).toBe('run-unit');
      // Neither --unit nor --index: run-unit reads JOB_COMPLETION_INDEX, which Kubernetes sets.
      expect([...container!.command, ...container!.args]).toEqual(['node', 'scripts/devkit/dist/run-unit.js', '--stage', String(stage)]);
    }
    const plan = byName('Job', 'olist-plan') as JobDoc;
    expect(plan.spec.completionMode).toBeUndefined();
    const [planner] = plan.spec.template.spec.containers;
    expect(planner!.name).toBe('plan-units');
    expect([...planner!.command, ...planner!.args]).toEqual(['node', 'scripts/devkit/dist/plan-units.js', '--stage', '1']);
  });

  it("run the project's image as its unprivileged node user, with singer-config mounted where the image has it", () => {
    const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/scripts\/devkit\/dist scripts\/devkit\/dist$/m);
    const images = new Set(jobs.flatMap((j) => j.spec.template.spec.containers.map((c) => c.image)));
    expect([...images]).toEqual(['singer-ts-pipeline:latest']);
    for (const job of jobs) {
      const pod = job.spec.template.spec;
      // The node user of the official Node.js images, given by number so runAsNonRoot can be checked.
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      const mount = pod.containers[0]!.volumeMounts?.find((m) => m.mountPath === '/app/singer-config');
      const volume = pod.volumes.find((v) => v.name === mount?.name);
      expect(volume?.configMap?.name).toBe('singer-config');
    }
  });

  it('take settings from the olist-pipeline-env ConfigMap, with the state in S3, and secrets from the Secret', () => {
    const settings = byName('ConfigMap', 'olist-pipeline-env') as Doc & { data: Record<string, string> };
    expect(Object.keys(settings.data).sort()).toEqual(
      ['AWS_ENDPOINT_URL_S3', 'AWS_REGION', 'LOG_LEVEL', 'PGDATABASE', 'PGHOST', 'PGPORT', 'PGUSER', 'STATE_BACKEND_URI'].sort(),
    );
    expect(settings.data.STATE_BACKEND_URI).toMatch(/^s3:\/\/[a-z0-9.-]+\/\S+$/);
    const secret = byName('Secret', 'olist-pipeline-credentials') as Doc & { stringData: Record<string, string> };
    const wanted: Record<string, string[]> = {
      'olist-plan': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
      'olist-stage1': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'KAGGLE_USERNAME', 'KAGGLE_KEY'],
      'olist-stage2': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'PGPASSWORD'],
    };
    for (const job of jobs) {
      const container = job.spec.template.spec.containers[0]!;
      expect(container.envFrom).toEqual([{ configMapRef: { name: 'olist-pipeline-env' } }]);
      const refs = (container.env ?? []).map((e) => e.valueFrom?.secretKeyRef);
      // Each variable named after the Secret's key, and each key in the template.
      expect(refs.map((r) => r?.name)).toEqual(refs.map(() => 'olist-pipeline-credentials'));
      expect((container.env ?? []).map((e) => e.name)).toEqual(refs.map((r) => r?.key));
      expect({ job: job.metadata.name, keys: refs.map((r) => r?.key) }).toEqual({ job: job.metadata.name, keys: wanted[job.metadata.name] });
      for (const key of refs.map((r) => r!.key)) expect(Object.keys(secret.stringData)).toContain(key);
    }
  });

  it('keep the Secret a template: no real value, no base64 data', () => {
    const secret = byName('Secret', 'olist-pipeline-credentials');
    expect(secret.data).toBeUndefined();
    const values = Object.values((secret as Doc & { stringData: Record<string, string> }).stringData);
    expect(values.length).toBeGreaterThan(0);
    expect(values.filter((v) => v !== 'change-me')).toEqual([]);
  });

  it("hold singer-config/'s JSON files unchanged in the singer-config ConfigMap", () => {
    // What the pipeline reads; meltano.yml is Meltano's, not the unit runner's.
    const data = (byName('ConfigMap', 'singer-config') as Doc & { data: Record<string, string> }).data;
    const files = readdirSync(join(REPO, 'singer-config'))
      .filter((f) => f.endsWith('.json'))
      .sort();
    const regenerate =
      "kubectl create configmap singer-config $(printf -- '--from-file=%s ' singer-config/*.json) --dry-run=client -o yaml | sed '/creationTimestamp/d' > deploy/kubernetes/singer-config.yaml";
    for (const file of files) {
      expect({ file, same: data[file] === readFileSync(join(REPO, 'singer-config', file), 'utf8'), regenerate }).toEqual({ file, same: true, regenerate });
    }
    expect(Object.keys(data).sort()).toEqual(files);
  });

  it('are configured by kustomization.yaml without the Jobs (created stage by stage) or the Secret template', () => {
    const kustomization = parse(read('kustomization.yaml')) as { apiVersion: string; kind: string; resources: string[] };
    expect(kustomization.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
    expect(kustomization.kind).toBe('Kustomization');
    expect(kustomization.resources.sort()).toEqual(['pipeline-env.yaml', 'singer-config.yaml']);
    const kubectl = spawnSync('kubectl', ['kustomize', DEPLOY], { encoding: 'utf8', timeout: 60_000 });
    if (kubectl.error) return; // no kubectl here: the static checks above stand in for it
    expect(kubectl.status).toBe(0);
    const built = parseAllDocuments(kubectl.stdout).map((d) => d.toJS() as Doc);
    expect(built.map((d) => `${d.kind} ${d.metadata.name}`).sort()).toEqual(['ConfigMap olist-pipeline-env', 'ConfigMap singer-config']);
  });
});

describe('deploy/kubernetes/run-pipeline.sh', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'run-pipeline-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Runs the script against a kubectl that records its calls: `logs` of the plan prints the
   * given number of unit lines (and a log line), `get` reports the Job's condition, and
   * `patch --local` prints the patch it was given, which `create -f -` records.
   */
  function run(args: string[], opts: { units: number; failJob?: string; env?: Record<string, string> }) {
    const log = join(dir, 'calls');
    const kubectl = join(dir, 'kubectl');
    writeFileSync(
      kubectl,
      `#!/bin/sh
printf '%s\\n' "$*" >> "${log}"
case "$1" in
  logs) echo 'INFO planning'; i=0; while [ $i -lt ${opts.units} ]; do echo "{\\"stage\\":1,\\"unit\\":\\"u$i\\"}"; i=$((i+1)); done ;;
  get) case "$2" in job/${opts.failJob ?? 'none'}) echo 'FailureTarget Failed ' ;; *) echo 'SuccessCriteriaMet Complete ' ;; esac ;;
  patch) while [ $# -gt 0 ]; do case "$1" in -f) shift; file=$1 ;; -p) shift; patch=$1 ;; esac; shift; done; echo "$(basename "$file") $patch" ;;
  create) echo "created: $(cat)" >> "${log}" ;;
esac
`,
    );
    chmodSync(kubectl, 0o755);
    const result = spawnSync('sh', [join(DEPLOY, 'run-pipeline.sh'), ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, KUBECTL: kubectl, POLL: '0', ...opts.env },
      timeout: 60_000,
    });
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    const created = calls.filter((c) => c.startsWith('created: ')).map((c) => c.slice('created: '.length));
    return { ...result, calls, created };
  }

  it('plans each stage, creates its Job with completions = units and parallelism ≤ PARALLELISM, and waits for it', () => {
    const { status, stderr, calls, created } = run([], { units: 6, env: { IMAGE: 'registry.example/pipeline:1', PARALLELISM: '4' } });
    expect({ status, stderr }).toEqual({ status: 0, stderr: expect.stringContaining('stage 2: done') });
    expect(calls[0]).toBe(`apply -k ${DEPLOY}`);
    const plan = (stage: number) =>
      `job-plan.yaml {"spec":{"template":{"spec":{"containers":[{"name":"plan-units","image":"registry.example/pipeline:1","args":["--stage","${stage}"]}]}}}}`;
    const stageJob = (stage: number) =>
      `job-stage${stage}.yaml {"spec":{"completions":6,"parallelism":4,"template":{"spec":{"containers":[{"name":"run-unit","image":"registry.example/pipeline:1"}]}}}}`;
    expect(created).toEqual([plan(1), stageJob(1), plan(2), stageJob(2)]);
    // Stage 2 is planned only once stage 1 is complete.
    expect(calls.indexOf('get job/olist-stage1 -o jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')).toBeLessThan(
      calls.findIndex((c) => c.includes('"--stage","2"')),
    );
    expect(calls.filter((c) => c.startsWith('delete job'))).toEqual([
      'delete job olist-plan --ignore-not-found --wait',
      'delete job olist-stage1 --ignore-not-found --wait',
      'delete job olist-plan --ignore-not-found --wait',
      'delete job olist-stage2 --ignore-not-found --wait',
    ]);
  });

  it('runs fewer pods than PARALLELISM when there are fewer units, and one stage when asked', () => {
    const { status, created } = run(['2'], { units: 3, env: { PARALLELISM: '8' } });
    expect(status).toBe(0);
    expect(created[1]).toContain('job-stage2.yaml {"spec":{"completions":3,"parallelism":3,');
    expect(created[1]).toContain('"image":"singer-ts-pipeline:latest"');
    expect(created).toHaveLength(2);
  });

  it('stops before stage 2 when a unit of stage 1 failed', () => {
    const { status, stderr, created } = run([], { units: 2, failJob: 'olist-stage1' });
    expect(status).toBe(1);
    expect(stderr).toContain('stage 1: a unit failed');
    expect(created.map((c) => c.split(' ')[0])).toEqual(['job-plan.yaml', 'job-stage1.yaml']);
  });

  it('stops when planning failed, printing the plan log', () => {
    const { status, stderr, created } = run(['1'], { units: 1, failJob: 'olist-plan' });
    expect(status).toBe(1);
    expect(stderr).toContain('stage 1: planning failed:\nINFO planning');
    expect(created.map((c) => c.split(' ')[0])).toEqual(['job-plan.yaml']);
  });
});
