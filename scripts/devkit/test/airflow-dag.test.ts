import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { parseAllDocuments } from 'yaml';

const REPO = resolve(__dirname, '../../..');
const AIRFLOW = join(REPO, 'deploy/airflow');
const DAG = join(AIRFLOW, 'dags/olist_pipeline.py');

/** python3, or undefined where it is missing (Airflow itself cannot be installed here either). */
const python = ((): string | undefined => {
  const probe = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? 'python3' : undefined;
})();

function py(args: string[], cwd = REPO) {
  return spawnSync(python!, args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
}

/** Runs deploy/airflow/tests against a copy of deploy/airflow whose DAG is `source`. */
function structureChecks(source: string) {
  const dir = mkdtempSync(join(tmpdir(), 'airflow-dag-'));
  try {
    cpSync(AIRFLOW, dir, { recursive: true });
    writeFileSync(join(dir, 'dags/olist_pipeline.py'), source);
    return py(['-m', 'unittest', 'discover', '-s', join(dir, 'tests')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('deploy/airflow/dags/olist_pipeline.py', () => {
  const source = readFileSync(DAG, 'utf8');

  it('compiles (python3 -m py_compile)', () => {
    if (!python) return; // no Python here: the checks below cannot run either
    // The byte code goes to a temporary folder, not next to the DAG.
    const cache = mkdtempSync(join(tmpdir(), 'pycache-'));
    try {
      const result = spawnSync(python, ['-m', 'py_compile', DAG], { encoding: 'utf8', env: { ...process.env, PYTHONPYCACHEPREFIX: cache } });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('has the structure its ast checks expect: a DAG, plan tasks, a mapped task per unit, the image and commands', () => {
    if (!python) return;
    const result = structureChecks(source);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.stringMatching(/Ran \d+ tests[\s\S]*\nOK\n$/) });
  });

  it.each([
    ['a task per unit without dynamic mapping', ').expand(arguments=unit_arguments(', ').expand_kwargs(arguments=unit_arguments('],
    ['stage 2 planned before stage 1 ends', '    units_1 >> plan_2\n', '\n'],
    ['a unit picked by index instead of id', '"--unit", unit["unit"]', '"--index", unit["unit"]'],
  ])('fails its ast checks on %s', (_name, from, to) => {
    if (!python) return;
    expect(source).toContain(from);
    expect(structureChecks(source.replace(from, to)).status).not.toBe(0);
  });

  it('runs the image, ConfigMaps and Secret the Kubernetes manifests use', () => {
    const job = parseAllDocuments(readFileSync(join(REPO, 'deploy/kubernetes/job-stage2.yaml'), 'utf8'))[0]!.toJS() as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(source).toContain(`os.environ.get("OLIST_PIPELINE_IMAGE", "${job.spec.template.spec.containers[0]!.image}")`);
    for (const name of ['olist-pipeline-env', 'singer-config', 'olist-pipeline-credentials']) expect(source).toContain(`"${name}"`);
    expect(source).toContain('mount_path="/app/singer-config"');
  });
});
