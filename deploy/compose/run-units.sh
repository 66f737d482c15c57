#!/bin/sh
# Runs the Olist pipeline on docker compose, one unit of work per container, at most PARALLEL
# containers at a time, stage 1 (tap-kaggle | processor) and then stage 2
# (tap-minio-csv | target-postgres):
#
#   deploy/compose/run-units.sh              # both stages, PARALLEL = this machine's cores
#   PARALLEL=4 deploy/compose/run-units.sh 2 # stage 2 only, four pairs at a time
#
# The Compose specification has no completion index (a replica of `--scale` cannot tell which
# it is), so each container is told its unit: `plan` lists the stage's units, and
# `pipeline-unit --index i` runs the i-th of them. xargs -P keeps PARALLEL running, as a
# Kubernetes Indexed Job's `parallelism` does; Compose starts and removes the containers.
# A failed unit fails the script once the stage's other units have ended, before the next
# stage; re-running resumes every unit from its own state.
#
# Environment: PARALLEL (default: the number of cores), COMPOSE (default `docker compose`;
# `docker-compose` for Compose v1). Run it from anywhere: it uses the repository's
# docker-compose.yml (and .env).
set -eu

cd "$(dirname "$0")/../.."
compose=${COMPOSE:-docker compose}
parallel=${PARALLEL:-$(nproc 2>/dev/null || echo 2)}
plan=$(mktemp)
trap 'rm -f "$plan"' EXIT

say() { printf '%s\n' "$*" >&2; }

for stage in ${*:-1 2}; do
  case $stage in 1 | 2) ;; *) say "unknown stage $stage (1 or 2)"; exit 2 ;; esac

  # Starts MinIO and PostgreSQL first (and waits for them to be healthy).
  $compose run --rm -T plan --stage "$stage" >"$plan"
  units=$(grep -c '^{' "$plan" || true)
  if [ "$units" -eq 0 ]; then
    say "stage $stage: no units, nothing to run"
    continue
  fi
  say "stage $stage: $units units, at most $parallel at a time"

  if [ "$stage" = 1 ]; then
    # The units' state lives in the data bucket (s3://olist/state), which they read before
    # the processor would create it.
    $compose exec -T minio sh -c \
      'mc alias set pipeline http://localhost:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null && mc mb --ignore-existing pipeline/olist'
  fi

  # --no-deps: `plan` left both servers running and healthy.
  if ! seq 0 $((units - 1)) | xargs -P "$parallel" -I '{}' \
    $compose run --rm --no-deps -T pipeline-unit --stage "$stage" --index '{}'; then
    say "stage $stage: a unit failed (its container's log above says which and why)"
    say "re-run: every unit resumes from its own last state"
    exit 1
  fi
  say "stage $stage: done"
done
