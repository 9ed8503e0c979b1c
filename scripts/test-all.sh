#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: set up, lint, unit tests,
# every Molecule scenario, and the end-to-end sandbox cluster test.
# MOLECULE_SCENARIOS="base" or SKIP_E2E=1 narrow it while developing.
#
# After lint and unit tests the stages run in two lanes side by side: one
# Molecule scenario leaves about 40% of the two CPUs idle (dpkg, systemd,
# network waits), and every scenario and the e2e sandbox have their own
# containers, names and networks. The second lane runs the e2e test and then
# SECOND_LANE_SCENARIOS (chosen so both lanes take about as long); its output
# is printed, stage by stage, when it ends. SERIAL=1 runs everything in one lane.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/bootstrap.sh --python-only || { echo "bootstrap failed"; exit 1; }
export PATH="$ROOT/.venv/bin:$PATH"
# The Docker engine, the node image (a minute or more on a fresh machine: mmdebstrap) and
# MLflow's pinned wheels are needed from the Molecule stages on; they are made beside lint
# and unit.
prepare_log=$(mktemp /tmp/gpucluster-prepare.XXXXXX)
gpucluster sandbox prepare >"$prepare_log" 2>&1 &
prepare_pid=$!
# The e2e test (about 1240 s since MLflow joined the install) now takes as long as all
# Molecule scenarios together (about 1230 s), so it has the second lane to itself.
SECOND_LANE_SCENARIOS=${SECOND_LANE_SCENARIOS:-""}
passed=0
failed=0
failed_names=()

# Runs one stage; prints its name, its verdict and its time, and appends
# "name rc" to $stage_results (a file, so a lane in the background can report).
stage_results=$(mktemp /tmp/gpucluster-stages.XXXXXX)
stage() {
  local name=$1 rc=0
  shift
  local started=$SECONDS
  echo "::: $name"
  "$@" || rc=$?
  if ((rc == 0)); then
    echo "::: $name passed in $((SECONDS - started))s"
  else
    echo "::: $name FAILED after $((SECONDS - started))s"
  fi
  echo "$name $rc" >>"$stage_results"
}

# The scenario's instances that exist now (left by an interrupted run).
leftover_instances() {
  local names
  names=$(python -c 'import sys, yaml; print("\n".join(p["name"] for p in yaml.safe_load(open(sys.argv[1]))["platforms"]))' "molecule/$1/molecule.yml")
  docker ps -a --format '{{.Names}}' | grep -Fx -f <(echo "$names") || true
}

molecule_scenario() {
  local scenario=$1 rc=0
  # The test sequences start at create: a destroy there costs seconds per scenario
  # and only matters after an interrupted run, which this catches.
  if [[ -n $(leftover_instances "$scenario") ]]; then
    molecule destroy -s "$scenario" >/dev/null 2>&1 || true
  fi
  molecule test -s "$scenario" || rc=$?
  # molecule skips destroy when verify fails: never leave containers behind.
  if ((rc != 0)) || [[ -n $(leftover_instances "$scenario") ]]; then
    molecule destroy -s "$scenario" >/dev/null 2>&1 || true
  fi
  return $rc
}

e2e() {
  pytest tests/e2e -q -rs -p no:cacheprovider --durations=0
}

contains() {
  local word=$1 list=$2
  [[ " $list " == *" $word "* ]]
}

stage lint-python bash -c "ruff check src tests scripts roles molecule plugins playbooks && ruff format --check src tests scripts roles molecule plugins playbooks"
stage lint-yaml yamllint --strict .
# ansible-lint and the unit tests each keep one CPU busy: run them side by side
# (ansible-lint's output is printed when it ends).
lint_log=$(mktemp /tmp/gpucluster-lint.XXXXXX)
stage lint-ansible ansible-lint --profile production >"$lint_log" 2>&1 &
lint_pid=$!
stage unit pytest tests/unit -q -rs --durations=10
wait "$lint_pid"
cat "$lint_log"
rm -f "$lint_log"

echo "::: waiting for the Docker engine and the node image"
if ! wait "$prepare_pid"; then
  cat "$prepare_log"
  echo "bootstrap failed: no Docker engine or node image"
  exit 1
fi
cat "$prepare_log"
rm -f "$prepare_log"

scenarios=${MOLECULE_SCENARIOS:-$(ls molecule)}
first_lane=()
second_lane=()
for scenario in $scenarios; do
  if [[ "${SERIAL:-0}" != 1 ]] && contains "$scenario" "$SECOND_LANE_SCENARIOS"; then
    second_lane+=("$scenario")
  else
    first_lane+=("$scenario")
  fi
done
run_e2e=0
[[ "${SKIP_E2E:-0}" != 1 ]] && run_e2e=1

second_lane_stages() {
  if ((run_e2e)); then
    stage e2e-sandbox e2e
  fi
  for scenario in "${second_lane[@]}"; do
    stage "molecule-$scenario" molecule_scenario "$scenario"
  done
}

second_lane_pid=
second_lane_log=$(mktemp /tmp/gpucluster-lane.XXXXXX)
if [[ "${SERIAL:-0}" != 1 ]] && { ((run_e2e)) || ((${#second_lane[@]})); }; then
  echo "::: second lane (e2e-sandbox ${second_lane[*]}) runs beside the first; its output follows it"
  second_lane_stages >"$second_lane_log" 2>&1 &
  second_lane_pid=$!
fi
for scenario in "${first_lane[@]}"; do
  stage "molecule-$scenario" molecule_scenario "$scenario"
done
if [[ -n "$second_lane_pid" ]]; then
  wait "$second_lane_pid"
  echo "::: second lane output"
  cat "$second_lane_log"
elif ((run_e2e)); then
  stage e2e-sandbox e2e
fi
rm -f "$second_lane_log"

while read -r name rc; do
  if ((rc == 0)); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failed_names+=("$name")
  fi
done <"$stage_results"
rm -f "$stage_results"

echo
if ((failed)); then
  echo "failed stages: ${failed_names[*]}"
fi
echo "stages: $passed passed, $failed failed"
((failed == 0))
