#!/usr/bin/env bash
# Sets up everything gpucluster and its tests need on a fresh Debian/Ubuntu
# machine: system packages, the Python virtualenv, a running Docker engine and
# the node image. Safe to run again: each step is skipped when already done.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

need_packages=()
command -v dockerd >/dev/null || need_packages+=(docker.io)
# The node image's root file system (images/node/build.sh; debootstrap also works).
command -v mmdebstrap >/dev/null || need_packages+=(mmdebstrap)
command -v ssh >/dev/null || need_packages+=(openssh-client)
command -v ssh-keygen >/dev/null || need_packages+=(openssh-client)
# The end-to-end test opens the overview page in a real browser that trusts the
# cluster CA through an NSS database (tests/e2e/browser.py).
command -v chromium-headless-shell >/dev/null || need_packages+=(chromium-headless-shell)
command -v certutil >/dev/null || need_packages+=(libnss3-tools)
if ((${#need_packages[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: please install: ${need_packages[*]}" >&2
    exit 1
  fi
  echo "bootstrap: installing ${need_packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/gpucluster ]] || [[ pyproject.toml -nt .venv/.installed ]]; then
  echo "bootstrap: Python environment in .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/.installed
fi

# Docker engine (started when none answers) and the node image.
# --python-only stops here: scripts/test-all.sh builds the image beside the lint
# and unit stages, which need only Python.
[[ "${1:-}" == --python-only ]] && exit 0
.venv/bin/gpucluster sandbox prepare
