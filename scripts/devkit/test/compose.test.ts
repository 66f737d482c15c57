import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

import { parse } from 'yaml';

const REPO = resolve(__dirname, '../../..');
const read = (name: string): string => readFileSync(join(REPO, name), 'utf8');

type Service = Record<string, unknown> & {
  image?: string;
  entrypoint?: string[];
  command?: string[];
  profiles?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[]; interval?: string; retries?: number };
  depends_on?: Record<string, { condition: string }>;
  build?: { context: string; dockerfile: string };
  volumes?: string[];
};

const composeText = read('docker-compose.yml');
const compose = parse(composeText) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;

/** The `${NAME…}` interpolations compose performs: not in comments, not escaped as `$${…}`. */
const interpolations: { name: string; hasDefault: boolean }[] = composeText
  .split('\n')
  .filter((line) => !line.trimStart().startsWith('#'))
  .flatMap((line) => [...line.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)(:-)?[^}]*\}/g)])
  .map((m) => ({ name: m[1]!, hasDefault: m[2] !== undefined }));

/** Compose interpolation as docker compose does it with no `.env`: `${VAR:-default}` → default, `$$` → `$`. */
function withDefaults(value: string): string {
  return value
    .replace(/\$\{([A-Z0-9_]+):-([^}]*)\}/g, (_m, _name: string, fallback: string) => fallback)
    .replace(/\$\$/g, '$');
}

function env(service: string): Record<string, string> {
  const raw = services[service]?.environment ?? {};
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, withDefaults(String(v))]));
}

/** The container side of each `host:container` port mapping. */
function containerPorts(service: string): number[] {
  return (services[service]?.ports ?? []).map((p) => Number(withDefaults(p).split(':').pop()));
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

// What this file uses of the Compose specification (https://compose-spec.io): nothing else.
const SPEC_TOP_LEVEL = ['services', 'volumes', 'networks'];
const SPEC_SERVICE_KEYS = [
  'image',
  'build',
  'command',
  'environment',
  'ports',
  'volumes',
  'healthcheck',
  'depends_on',
  'restart',
  'init',
  'entrypoint',
  'profiles',
];
const RUNNER_ENV = [
  'KAGGLE_USERNAME',
  'KAGGLE_KEY',
  'KAGGLE_API_TOKEN',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
  'PGHOST',
  'PGPORT',
  'PGUSER',
  'PGPASSWORD',
  'PGDATABASE',
];

describe('docker-compose.yml', () => {
  it('uses only Compose specification keys, without the obsolete version field', () => {
    expect(Object.keys(compose).every((k) => SPEC_TOP_LEVEL.includes(k))).toBe(true);
    expect(Object.keys(compose)).not.toContain('version');
    for (const [name, service] of Object.entries(services)) {
      const unknown = Object.keys(service).filter((k) => !SPEC_SERVICE_KEYS.includes(k));
      expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
    }
    // Every variable has a default, so the file works before anyone writes a `.env`.
    expect(interpolations.length).toBeGreaterThan(10);
    expect(interpolations.filter((i) => !i.hasDefault)).toEqual([]);
  });

  it('starts MinIO, PostgreSQL and the pipeline on `up`, and the scale-out services only when asked', () => {
    expect(Object.keys(services).sort()).toEqual(['minio', 'pipeline', 'pipeline-unit', 'plan', 'postgres']);
    const byDefault = Object.keys(services).filter((name) => services[name]!.profiles === undefined);
    expect(byDefault.sort()).toEqual(['minio', 'pipeline', 'postgres']);
    expect(services.plan!.profiles).toEqual(['units']);
    expect(services['pipeline-unit']!.profiles).toEqual(['units']);
  });

  it('runs MinIO with its API on 9000, its console on 9001 and a healthcheck the image can run', () => {
    const minio = services.minio!;
    expect(withDefaults(minio.image ?? '')).toMatch(/^minio\/minio:RELEASE\./);
    expect(minio.command).toEqual(['server', '/data', '--console-address', ':9001']);
    expect(containerPorts('minio')).toEqual([9000, 9001]);
    // The image ships `mc` but no curl.
    expect(minio.healthcheck?.test).toEqual(['CMD', 'mc', 'ready', 'local']);
    expect(minio.volumes).toEqual(['minio-data:/data']);
    expect(env('minio').MINIO_ROOT_PASSWORD!.length).toBeGreaterThanOrEqual(8);
  });

  it('runs PostgreSQL on 5432 with a pg_isready healthcheck', () => {
    const postgres = services.postgres!;
    expect(withDefaults(postgres.image ?? '')).toMatch(/^postgres:1[67]$/);
    expect(containerPorts('postgres')).toEqual([5432]);
    expect(postgres.healthcheck?.test[0]).toBe('CMD-SHELL');
    expect(withDefaults(postgres.healthcheck?.test[1] ?? '')).toBe('pg_isready -U "${POSTGRES_USER}" -d "${POSTGRES_DB}"');
    expect(postgres.volumes).toEqual(['postgres-data:/var/lib/postgresql/data']);
  });

  it('runs the pipeline once from the repository image after both servers are healthy', () => {
    const pipeline = services.pipeline!;
    expect(pipeline.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(pipeline.depends_on).toEqual({
      minio: { condition: 'service_healthy' },
      postgres: { condition: 'service_healthy' },
    });
    expect(pipeline.restart).toBe('no');
    expect(pipeline.ports).toBeUndefined();
    // The same runner as `npm start`.
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start;
    expect(pipeline.command?.join(' ')).toBe(start);
    expect(pipeline.volumes).toEqual(['pipeline-data:/app/.data']);
    expect(Object.keys(compose.volumes ?? {}).sort()).toEqual(['minio-data', 'pipeline-data', 'postgres-data']);
  });

  it("points the pipeline at the minio and postgres services with the servers' own credentials", () => {
    const e = env('pipeline');
    expect(Object.keys(e)).toEqual(expect.arrayContaining(RUNNER_ENV));
    expect(e.AWS_ENDPOINT_URL_S3).toBe('http://minio:9000');
    expect(e.AWS_ACCESS_KEY_ID).toBe(env('minio').MINIO_ROOT_USER);
    expect(e.AWS_SECRET_ACCESS_KEY).toBe(env('minio').MINIO_ROOT_PASSWORD);
    expect(e.PGHOST).toBe('postgres');
    expect(e.PGPORT).toBe('5432');
    expect(e.PGUSER).toBe(env('postgres').POSTGRES_USER);
    expect(e.PGPASSWORD).toBe(env('postgres').POSTGRES_PASSWORD);
    expect(e.PGDATABASE).toBe(env('postgres').POSTGRES_DB);
    // Kaggle credentials come only from the environment (.env), never from the file.
    for (const name of ['KAGGLE_USERNAME', 'KAGGLE_KEY', 'KAGGLE_API_TOKEN']) {
      expect(services.pipeline!.environment?.[name]).toBe(`\${${name}:-}`);
    }
  });

  it('plans and runs single units from the same image, settings and servers as the pipeline', () => {
    for (const name of ['plan', 'pipeline-unit']) {
      const service = services[name]!;
      expect({ name, build: service.build }).toEqual({ name, build: services.pipeline!.build });
      expect({ name, env: env(name) }).toEqual({ name, env: env('pipeline') });
      expect({ name, depends_on: service.depends_on }).toEqual({ name, depends_on: services.pipeline!.depends_on });
      expect(service.restart).toBe('no');
      expect(service.init).toBe(true);
      expect(service.ports).toBeUndefined();
      // No volume: a unit's state is in MinIO, so the containers share nothing on the host.
      expect(service.volumes).toBeUndefined();
    }
    // `docker compose run --rm plan --stage 2` and `… pipeline-unit --stage 2 --index 3`
    // replace the command and keep the entrypoint.
    expect(services.plan!.entrypoint).toEqual(['node', 'scripts/devkit/dist/plan-units.js']);
    expect(services.plan!.command).toEqual(['--stage', '1']);
    expect(services['pipeline-unit']!.entrypoint).toEqual(['node', 'scripts/devkit/dist/run-unit.js', '--state-backend', 's3://olist/state']);
    expect(services['pipeline-unit']!.command).toEqual(['--stage', '1', '--index', '0']);
    // The state's bucket is the data bucket, which run-units.sh creates before stage 1.
    const bucket = (JSON.parse(read('singer-config/tap-minio-csv.json')) as { bucket: string }).bucket;
    expect(services['pipeline-unit']!.entrypoint![3]).toBe(`s3://${bucket}/state`);
    expect(read('deploy/compose/run-units.sh')).toContain(`mc mb --ignore-existing pipeline/${bucket}`);
  });

  it.each([[[]], [['--profile', 'units']]])('is accepted by `docker-compose %s config` where that tool is installed', (profile) => {
    const binary = findOnPath('docker-compose');
    if (!binary) return; // The static checks above stand in for it.
    const result = spawnSync(binary, ['--file', join(REPO, 'docker-compose.yml'), ...profile, 'config', '--quiet'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });
});

describe('deploy/compose/run-units.sh', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'run-units-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Runs the script against a compose command that records its calls: `run … plan` prints the
   * given number of unit lines (and a log line on stderr), `run … pipeline-unit` waits a little
   * (so that units overlap) and fails for the index in FAIL_INDEX.
   */
  function run(args: string[], opts: { units: number; env?: Record<string, string> }) {
    const log = join(dir, 'calls');
    const compose = join(dir, 'compose');
    writeFileSync(
      compose,
      `#!/bin/sh
case "$*" in
  *" plan "*) echo "$*" >> "${log}"; echo 'INFO planning' >&2; i=0; while [ $i -lt ${opts.units} ]; do echo "{\\"unit\\":\\"u$i\\"}"; i=$((i+1)); done ;;
  *" pipeline-unit "*) echo "start $*" >> "${log}"; sleep 0.2; echo "end $*" >> "${log}"; [ "$9" != "\${FAIL_INDEX:-none}" ] ;;
  *) echo "$*" >> "${log}" ;;
esac
`,
    );
    chmodSync(compose, 0o755);
    const result = spawnSync('sh', [join(REPO, 'deploy/compose/run-units.sh'), ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, COMPOSE: compose, ...opts.env },
      timeout: 60_000,
    });
    return { ...result, calls: readFileSync(log, 'utf8').trim().split('\n') };
  }

  it('plans each stage and runs every unit once, in its own container, at most PARALLEL at a time', () => {
    const { status, stderr, calls } = run([], { units: 5, env: { PARALLEL: '2' } });
    expect({ status, stderr }).toEqual({ status: 0, stderr: expect.stringContaining('stage 2: done') });
    const unit = (stage: number, i: number) => `run --rm --no-deps -T pipeline-unit --stage ${stage} --index ${i}`;
    for (const stage of [1, 2]) {
      const started = calls.filter((c) => c.startsWith('start ') && c.includes(`--stage ${stage} `)).map((c) => c.slice(6));
      expect(started.sort()).toEqual([0, 1, 2, 3, 4].map((i) => unit(stage, i)));
    }
    // Planned first, the bucket made before stage 1's units, stage 2 planned after stage 1 ended.
    expect(calls[0]).toBe('run --rm -T plan --stage 1');
    expect(calls[1]).toMatch(/^exec -T minio sh -c mc alias set .* && mc mb --ignore-existing pipeline\/olist$/);
    const plan2 = calls.indexOf('run --rm -T plan --stage 2');
    expect(calls.slice(0, plan2).filter((c) => c.startsWith('end '))).toHaveLength(5);
    // Never more than PARALLEL containers at once.
    let running = 0;
    let most = 0;
    for (const call of calls) {
      if (call.startsWith('start ')) most = Math.max(most, ++running);
      if (call.startsWith('end ')) running -= 1;
    }
    expect(most).toBe(2);
  });

  it('stops before stage 2 when a unit of stage 1 fails, after the other units ended', () => {
    const { status, stderr, calls } = run([], { units: 3, env: { PARALLEL: '3', FAIL_INDEX: '1' } });
    expect(status).toBe(1);
    expect(stderr).toContain('stage 1: a unit failed');
    expect(calls.filter((c) => c.startsWith('end '))).toHaveLength(3);
    expect(calls).not.toContain('run --rm -T plan --stage 2');
  });

  it('runs nothing for a stage without units, and only the stages asked for', () => {
    const { status, stderr, calls } = run(['2'], { units: 0 });
    expect(status).toBe(0);
    expect(stderr).toContain('stage 2: no units');
    expect(calls).toEqual(['run --rm -T plan --stage 2']);
  });
});

describe('.env.example', () => {
  const example = read('.env.example');
  const documented = new Set(
    [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!),
  );

  it('documents every variable the compose file reads and every one the pipeline runner uses', () => {
    for (const name of [...interpolations.map((i) => i.name), ...RUNNER_ENV]) {
      expect({ name, documented: documented.has(name) }).toEqual({ name, documented: true });
    }
  });

  it('holds no real secret, and `.env` itself stays out of git and of the image', () => {
    for (const [, name, value] of example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)) {
      if (/KEY|TOKEN|PASSWORD|SECRET/.test(name!)) {
        expect({ name, value }).toEqual({ name, value: expect.stringMatching(/^(|change-me.*)$/) });
      }
    }
    expect(read('.gitignore').split('\n')).toContain('.env');
    expect(read('.dockerignore').split('\n')).toContain('.env');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const lines = dockerfile.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  const stages: { name: string; lines: string[] }[] = [];
  for (const line of lines) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ name: from[1] ?? '', lines: [] });
    else stages[stages.length - 1]?.lines.push(line);
  }
  const [build, runtime] = stages;
  const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;

  it('builds in one stage and runs in another, on Node 26 (the active LTS)', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(dockerfile).toMatch(/^ARG NODE_VERSION=26$/m);
    expect(build!.lines).toContainEqual(expect.stringMatching(/^RUN npm ci\b/));
    expect(build!.lines).toContainEqual('RUN npx tsc -b');
  });

  it('installs every workspace in both stages, without dev dependencies at run time', () => {
    for (const stage of [build!, runtime!]) {
      for (const workspace of workspaces) {
        expect(stage.lines).toContainEqual(`COPY ${workspace}/package.json ${workspace}/`);
      }
    }
    const install = runtime!.lines.find((l) => /^RUN npm ci\b/.test(l));
    expect(install).toMatch(/--omit=dev/);
    expect(runtime!.lines.join('\n')).not.toMatch(/\btsc\b/);
    for (const workspace of workspaces) {
      expect(runtime!.lines).toContainEqual(`COPY --from=build /app/${workspace}/dist ${workspace}/dist`);
    }
  });

  it("runs as the image's unprivileged node user the command compose runs", () => {
    const users = runtime!.lines.filter((l) => /^USER\s/.test(l));
    expect(users).toEqual(['USER node']);
    const cmd = runtime!.lines.find((l) => /^CMD\s/.test(l));
    expect(JSON.parse(cmd!.replace(/^CMD\s+/, ''))).toEqual(services.pipeline!.command);
    expect(runtime!.lines).toContainEqual('COPY singer-config singer-config');
  });

  it('leaves dependencies, build output, git data and local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.git', '**/node_modules', '**/dist', '.data', '.env']) {
      expect(ignored).toContain(entry);
    }
  });
});
