#!/usr/bin/env bash
# Run by hand on a machine with a real NVIDIA GPU and its driver loaded: the
# GPU usage collector (roles/node_exporter/files/gpu_usage.py) against the real nvidia-smi
# and /proc, with one compute process of the current user on the GPU when a
# CUDA-capable Python is there (torch), so its owner shows up in the series.
# Keeps nvidia-smi's XML in OUTDIR: the unit tests' fixtures come from such
# recordings (tests/unit/fixtures/nvidia-smi).
#   bash tests/device/gpu-usage-on-gpu.sh [OUTDIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$(mktemp -d)}
mkdir -p "$OUT/textfile"
uid=$(id -u)
user=$(id -un)
# The current user, declared in one project, as the people declaration would.
cat >"$OUT/people.json" <<JSON
{"cluster_projects": [{"name": "device", "gid": 29999}],
 "cluster_users": [{"name": "$user", "uid": $uid, "projects": ["device"]}]}
JSON
holder=
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  python3 -c 'import torch, time; x = torch.ones(256, 1024, 1024, device="cuda"); time.sleep(60)' &
  holder=$!
  sleep 10
else
  echo "NOT EXECUTED: a compute process of $user on the GPU (no CUDA-capable torch here)"
fi
nvidia-smi -q -x >"$OUT/nvidia-smi-q-x.xml"
python3 "$ROOT/roles/node_exporter/files/gpu_usage.py" --people "$OUT/people.json" --output-dir "$OUT/textfile"
[[ -n "$holder" ]] && kill "$holder"
cat "$OUT/textfile/gpucluster_gpu_usage.prom"
gpus=$(nvidia-smi -L | grep -c '^GPU ')
series=$(grep -c '^gpucluster_gpu_info{' "$OUT/textfile/gpucluster_gpu_usage.prom")
grep -qx 'gpucluster_gpu_usage_up 1' "$OUT/textfile/gpucluster_gpu_usage.prom"
[[ "$gpus" == "$series" ]] || { echo "FAIL: nvidia-smi lists $gpus GPUs, the collector $series" >&2; exit 1; }
if [[ -n "$holder" ]]; then
  grep -q "user=\"$user\",project=\"device\"" "$OUT/textfile/gpucluster_gpu_usage.prom" \
    || { echo "FAIL: the torch process of $user is not in the series" >&2; exit 1; }
fi
echo "PASS: $series GPU(s), recording in $OUT/nvidia-smi-q-x.xml"
