#!/bin/sh
# Runs the Olist pipeline on a Kubernetes cluster, stage after stage, each stage as an Indexed
# Job with one completion per unit:
#
#   IMAGE=registry.example.com/singer-ts-pipeline:1.0 PARALLELISM=8 deploy/kubernetes/run-pipeline.sh
#   deploy/kubernetes/run-pipeline.sh 2          # stage 2 only
#
# For each stage it (1) runs the olist-plan Job, which prints the stage's units as JSON lines,
# (2) counts them, (3) creates olist-stage<N> with `completions` = that count and
# `parallelism` = min(PARALLELISM, count), and (4) waits for it to finish. A failed plan or a
# stage with a failed unit stops the script non-zero, before the next stage.
#
# Environment: IMAGE (default singer-ts-pipeline:latest), PARALLELISM (pairs at once, default
# 4), KUBECTL (default `kubectl`; add `-n NAMESPACE` or `--context …` there), POLL (seconds
# between status checks, default 10). The ConfigMaps come from `kubectl apply -k` of this
# folder, which the script runs first; the Secret olist-pipeline-credentials must exist.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
kubectl=${KUBECTL:-kubectl}
image=${IMAGE:-singer-ts-pipeline:latest}
parallelism=${PARALLELISM:-4}
poll=${POLL:-10}

say() { printf '%s\n' "$*" >&2; }

# Waits until the Job has the condition Complete (0) or Failed (1).
wait_for() {
  while :; do
    conditions=$($kubectl get "job/$1" -o 'jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
    case " $conditions " in
      *" Complete "*) return 0 ;;
      *" Failed "*) return 1 ;;
    esac
    sleep "$poll"
  done
}

# Creates a Job from a manifest of this folder with a strategic-merge patch applied.
create() {
  $kubectl delete job "$1" --ignore-not-found --wait >/dev/null
  $kubectl patch --local -f "$here/$2" --type strategic -p "$3" -o yaml | $kubectl create -f -
}

$kubectl apply -k "$here"

for stage in ${*:-1 2}; do
  case $stage in 1 | 2) ;; *) say "unknown stage $stage (1 or 2)"; exit 2 ;; esac

  create olist-plan job-plan.yaml \
    "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"plan-units\",\"image\":\"$image\",\"args\":[\"--stage\",\"$stage\"]}]}}}}"
  if ! wait_for olist-plan; then
    say "stage $stage: planning failed:"
    $kubectl logs job/olist-plan >&2 || true
    exit 1
  fi
  # stdout and stderr are mixed in the pod's log: only the JSON lines are units.
  units=$($kubectl logs job/olist-plan | grep -c '^{' || true)
  if [ "$units" -eq 0 ]; then
    say "stage $stage: no units, nothing to run"
    continue
  fi
  pods=$((parallelism < units ? parallelism : units))
  say "stage $stage: $units units, $pods at a time"

  create "olist-stage$stage" "job-stage$stage.yaml" \
    "{\"spec\":{\"completions\":$units,\"parallelism\":$pods,\"template\":{\"spec\":{\"containers\":[{\"name\":\"run-unit\",\"image\":\"$image\"}]}}}}"
  if ! wait_for "olist-stage$stage"; then
    say "stage $stage: a unit failed; see kubectl logs -l app.kubernetes.io/component=stage$stage"
    say "re-run the stage: every unit resumes from its own last state"
    exit 1
  fi
  say "stage $stage: done"
done
