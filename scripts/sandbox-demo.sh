#!/usr/bin/env bash
# The main job on one machine: a sandbox cluster (login, management, file
# server, backup and GPU_NODES GPU nodes as systemd containers), checked,
# installed end to end with gpucluster, and verified.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
GPU_NODES=${GPU_NODES:-2}
bash scripts/bootstrap.sh
gc=.venv/bin/gpucluster
if $gc sandbox status | grep -q running; then
  echo "a sandbox is already up; reusing it (gpucluster sandbox down to start over)"
else
  $gc sandbox up --gpu-nodes "$GPU_NODES"
fi
INVENTORY=$($gc sandbox status | awk '/^inventory:/ {print $2}')
$gc check -i "$INVENTORY"
$gc install -i "$INVENTORY"
$gc verify -i "$INVENTORY"
echo
echo "sandbox cluster installed. Inventory: $INVENTORY"
USERS_DIR=$(dirname "$INVENTORY")/users
echo "try: $gc install -i $INVENTORY   (a second run changes nothing)"
echo "     ssh -i $USERS_DIR/alice alice@10.221.0.11 id   (an LDAP user on the login node)"
echo "     $gc user add NAME --project vision --ssh-key KEY.pub -i $INVENTORY"
echo "     $gc backup run -i $INVENTORY"
echo "     $gc top -i $INVENTORY   (nodes, GPUs, projects and alerts from Prometheus)"
echo "     $gc sandbox add gpu0$((GPU_NODES + 1))   (then the add-node command it prints)"
echo "     $gc sandbox down"
