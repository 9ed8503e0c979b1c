#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: set up, lint, unit tests,
# every Molecule scenario, and the end-to-end sandbox cluster test.
# MOLECULE_SCENARIOS="common" or SKIP_E2E=1 narrow it while developing.
# The end-to-end test runs beside the Molecule scenarios (its own containers,
# names and networks): one Molecule scenario leaves about 40% of the two CPUs
# idle (dpkg, systemd, network waits). SERIAL_E2E=1 runs it after them.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/bootstrap.sh || { echo "bootstrap failed"; exit 1; }
export PATH="$ROOT/.venv/bin:$PATH"
passed=0
failed=0
failed_names=()

stage() {
  local name=$1
  shift
  local started=$SECONDS
  echo "::: $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "::: $name passed in $((SECONDS - started))s"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "::: $name FAILED after $((SECONDS - started))s"
  fi
}

molecule_scenario() {
  local scenario=$1 rc=0
  molecule test -s "$scenario" || rc=$?
  # molecule skips destroy when verify fails: never leave containers behind.
  molecule destroy -s "$scenario" >/dev/null 2>&1 || true
  return $rc
}

e2e() {
  pytest tests/e2e -q -rs -p no:cacheprovider
}

# Starts the end-to-end test in the background; its output goes to a log that
# is printed, as its own stage, once it ends.
e2e_log=$(mktemp /tmp/gpucluster-e2e.XXXXXX)
e2e_started=0
start_e2e_lane() {
  echo "::: e2e-sandbox (beside the Molecule scenarios; output below when it ends)"
  e2e_started=$SECONDS
  e2e >"$e2e_log" 2>&1 &
  e2e_pid=$!
}

finish_e2e_lane() {
  local rc=0
  wait "$e2e_pid" || rc=$?
  echo "::: e2e-sandbox output"
  cat "$e2e_log"
  rm -f "$e2e_log"
  if ((rc == 0)); then
    passed=$((passed + 1))
    echo "::: e2e-sandbox passed in $((SECONDS - e2e_started))s"
  else
    failed=$((failed + 1))
    failed_names+=(e2e-sandbox)
    echo "::: e2e-sandbox FAILED after $((SECONDS - e2e_started))s"
  fi
}

stage lint-python bash -c "ruff check src tests scripts roles molecule plugins && ruff format --check src tests scripts roles molecule plugins"
stage lint-yaml yamllint --strict .
stage lint-ansible ansible-lint --profile production
stage unit pytest tests/unit -q -rs
parallel_e2e=0
if [[ "${SKIP_E2E:-0}" != 1 && "${SERIAL_E2E:-0}" != 1 ]]; then
  parallel_e2e=1
  start_e2e_lane
fi
scenarios=${MOLECULE_SCENARIOS:-$(ls molecule)}
for scenario in $scenarios; do
  stage "molecule-$scenario" molecule_scenario "$scenario"
done
if ((parallel_e2e)); then
  finish_e2e_lane
elif [[ "${SKIP_E2E:-0}" != 1 ]]; then
  stage e2e-sandbox e2e
fi

echo
if ((failed)); then
  echo "failed stages: ${failed_names[*]}"
fi
echo "stages: $passed passed, $failed failed"
((failed == 0))
