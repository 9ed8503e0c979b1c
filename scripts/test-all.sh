#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: set up, lint, unit tests,
# every Molecule scenario, and the end-to-end sandbox cluster test.
# MOLECULE_SCENARIOS="common" or SKIP_E2E=1 narrow it while developing.
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

stage lint-python bash -c "ruff check src tests scripts roles molecule plugins && ruff format --check src tests scripts roles molecule plugins"
stage lint-yaml yamllint --strict .
stage lint-ansible ansible-lint --profile production
stage unit pytest tests/unit -q -rs
scenarios=${MOLECULE_SCENARIOS:-$(ls molecule)}
for scenario in $scenarios; do
  stage "molecule-$scenario" molecule_scenario "$scenario"
done
if [[ "${SKIP_E2E:-0}" != 1 ]]; then
  stage e2e-sandbox pytest tests/e2e -q -rs -p no:cacheprovider
fi

echo
if ((failed)); then
  echo "failed stages: ${failed_names[*]}"
fi
echo "stages: $passed passed, $failed failed"
((failed == 0))
