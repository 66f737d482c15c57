"""The Olist pipeline on Airflow, one task per unit of work.

The original system ran this flow as an Airflow DAG of Python tasks on one machine. Here each
stage is planned first (a task running ``plan-units``, whose JSON lines become the task's
XCom), and then one mapped task per unit runs that unit's pair (``run-unit --unit <id>``)
with dynamic task mapping: ``KubernetesPodOperator.partial(...).expand(arguments=...)``.

    plan_stage1 -> stage1_unit[i] -> plan_stage2 -> stage2_unit[j]

Stage 2 is planned only after stage 1 has finished, because a ``prefix:`` split lists the
objects stage 1 wrote. Every unit keeps its own state in the state backend
(``STATE_BACKEND_URI`` of the ``olist-pipeline-env`` ConfigMap), so a failed or cleared task
instance resumes its unit exactly where it stopped, and a new run loads only what changed.

Why KubernetesPodOperator: every unit becomes a pod that the cluster schedules with its own
CPU request (one pair per core), so the pairs spread over as many nodes as the cluster has,
and the pods use the same image, ConfigMaps and Secret as the Jobs in deploy/kubernetes. The
DockerOperator would run every unit on the Airflow worker's own Docker engine, which needs
the Docker socket mounted in the worker (root on that host) and caps the pipeline at one
machine; it is sketched at the end of this file for Airflow installations without Kubernetes.

Settings (environment of the scheduler and workers): OLIST_PIPELINE_IMAGE, the image built
from this repository's Dockerfile; OLIST_PIPELINE_NAMESPACE, where the pods run (default:
Airflow's own namespace); OLIST_PIPELINE_PARALLELISM, pairs at once per stage (default 4).
Requires Airflow 2.6 or newer with apache-airflow-providers-cncf-kubernetes 7 or newer.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from kubernetes.client import models as k8s

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret

try:  # Airflow 3
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task

IMAGE = os.environ.get("OLIST_PIPELINE_IMAGE", "singer-ts-pipeline:latest")
NAMESPACE = os.environ.get("OLIST_PIPELINE_NAMESPACE") or None
PARALLELISM = int(os.environ.get("OLIST_PIPELINE_PARALLELISM", "4"))

PLAN_UNITS = "scripts/devkit/dist/plan-units.js"
RUN_UNIT = "scripts/devkit/dist/run-unit.js"
CREDENTIALS = "olist-pipeline-credentials"

# plan-units prints one JSON line per unit (its logs go to stderr); this gathers them into one
# JSON list, the XCom of the plan task.
JSON_LINES_TO_LIST = (
    "const lines = require('fs').readFileSync(0, 'utf8').split('\\n')"
    ".filter((l) => l.startsWith('{'));"
    " process.stdout.write(JSON.stringify(lines.map((l) => JSON.parse(l))));"
)


def plan_command(stage: int, xcom_file: str | None = "/airflow/xcom/return.json") -> str:
    """The shell command of a plan task: KubernetesPodOperator reads the XCom from a file."""
    command = (
        f"node {PLAN_UNITS} --stage {stage} > /tmp/units.jsonl"
        f' && node -e "{JSON_LINES_TO_LIST}" < /tmp/units.jsonl'
    )
    return f"{command} > {xcom_file}" if xcom_file else command


def credentials(*names: str) -> list[Secret]:
    """Environment variables from the olist-pipeline-credentials Secret."""
    return [Secret("env", name, CREDENTIALS, name) for name in names]


# What every pod of the pipeline shares: the image, the non-secret settings, singer-config.
POD = dict(
    image=IMAGE,
    namespace=NAMESPACE,
    env_from=[
        k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name="olist-pipeline-env")),
    ],
    volumes=[
        k8s.V1Volume(name="singer-config", config_map=k8s.V1ConfigMapVolumeSource(name="singer-config")),
    ],
    volume_mounts=[
        k8s.V1VolumeMount(name="singer-config", mount_path="/app/singer-config", read_only=True),
    ],
    # The image's `node` user, numeric so that the kubelet can check run_as_non_root.
    security_context=k8s.V1PodSecurityContext(run_as_non_root=True, run_as_user=1000, run_as_group=1000),
    get_logs=True,
    on_finish_action="delete_pod",
)

STAGE_CREDENTIALS = {
    1: credentials("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "KAGGLE_USERNAME", "KAGGLE_KEY"),
    2: credentials("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD"),
}


@task
def unit_arguments(units: list[dict], stage: int) -> list[list[str]]:
    """run-unit's arguments for each unit of the plan, in the plan's order."""
    return [["--stage", str(stage), "--unit", unit["unit"]] for unit in units]


def plan_units(stage: int) -> KubernetesPodOperator:
    """A task that lists the stage's units; its XCom is the list of units."""
    return KubernetesPodOperator(
        task_id=f"plan_stage{stage}",
        name=f"olist-plan-stage{stage}",
        cmds=["/bin/sh", "-c"],
        arguments=[plan_command(stage)],
        do_xcom_push=True,
        secrets=credentials("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "100m", "memory": "256Mi"}),
        **POD,
    )


def run_units(stage: int, plan: KubernetesPodOperator):
    """One mapped task instance per unit of the plan, each a pod running that unit's pair."""
    return KubernetesPodOperator.partial(
        task_id=f"stage{stage}_unit",
        name=f"olist-stage{stage}-unit",
        cmds=["node", RUN_UNIT],
        secrets=STAGE_CREDENTIALS[stage],
        # A pair keeps about one core busy; memory stays flat whatever the input size.
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": "1", "memory": "512Mi"}, limits={"memory": "1Gi"}
        ),
        max_active_tis_per_dagrun=PARALLELISM,
        # A retry resumes the unit from its last state, which is exact.
        retries=2,
        retry_delay=timedelta(minutes=1),
        **POD,
    ).expand(arguments=unit_arguments(plan.output, stage))


with DAG(
    dag_id="olist_pipeline",
    description="Kaggle → cleaned CSV in S3 → PostgreSQL, one pod per unit of work",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    # Two runs at once would run the same units against the same state.
    max_active_runs=1,
    tags=["singer", "olist"],
) as dag:
    plan_1 = plan_units(1)
    units_1 = run_units(1, plan_1)
    plan_2 = plan_units(2)
    units_2 = run_units(2, plan_2)
    units_1 >> plan_2


# The same DAG on an Airflow that has a Docker engine but no Kubernetes (one machine, and the
# worker needs /var/run/docker.sock): DockerOperator instead of KubernetesPodOperator. Its XCom
# is the container's last stdout line, so the plan prints its list there as one JSON line; the
# settings come from the operator's environment instead of a ConfigMap and a Secret.
#
#   from airflow.providers.docker.operators.docker import DockerOperator
#
#   plan_1 = DockerOperator(
#       task_id="plan_stage1",
#       image=IMAGE,
#       entrypoint=["/bin/sh", "-c"],
#       command=[plan_command(1, xcom_file=None)],
#       do_xcom_push=True,
#       environment=ENVIRONMENT,          # AWS_*, PG*, KAGGLE_*, STATE_BACKEND_URI
#       network_mode="olist_default",     # the network MinIO and PostgreSQL are on
#       auto_remove="success",
#   )
#   units_1 = DockerOperator.partial(
#       task_id="stage1_unit",
#       image=IMAGE,
#       entrypoint=["node", RUN_UNIT],
#       environment=ENVIRONMENT,
#       network_mode="olist_default",
#       auto_remove="success",
#       max_active_tis_per_dagrun=PARALLELISM,
#   ).expand(command=unit_arguments(plan_1.output, 1))
