#!/usr/bin/env bash
# Run by hand on a machine with a real NVIDIA GPU: `gpucluster check`'s
# preflight playbook (read-only) against the machine itself as a GPU node.
# It must count the GPUs on the PCI bus, find the NIC that carries the
# address, and run the Kubernetes node checks (modules available, swap,
# ports, runtime socket, clock skew, pins) on a real kernel, which the test
# containers cannot. Needs ansible-playbook (ansible-core) on PATH.
#   bash tests/device/preflight-on-gpu.sh [OUTDIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$(mktemp -d)}
# The first global IPv4 address stands in for both networks (the machine may
# have no route anywhere); loopback where it has none at all.
address=$(ip -o -4 addr show scope global 2>/dev/null | awk '{sub("/.*", "", $4); print $4; exit}' || true)
address=${address:-127.0.0.1}
mkdir -p "$OUT/inventory/group_vars"
cat > "$OUT/inventory/hosts.yml" <<YAML
all:
  children:
    gpu:
      hosts:
        $(hostname -s):
          ansible_connection: local
          ansible_python_interpreter: $(command -v python3)
          ansible_host: $address
          storage_address: $address
YAML
cat > "$OUT/inventory/group_vars/all.yml" <<YAML
cluster_name: device
cluster_domain: device.internal
management_network: {cidr: "$address/32"}
storage_network: {cidr: "$address/32", mtu: 1500}
YAML
cd "$ROOT"
playbook=playbooks/preflight.yml
if ! command -v ip >/dev/null; then
  # A GPU machine lent as a container may lack iproute2: run the same checks
  # without the storage NIC, and say so.
  echo "NOT EXECUTED: storage NIC check (no ip command on this machine)"
  playbook="$OUT/preflight-without-nic.yml"
  sed '/- name: Find the storage NIC/,/tasks_from: find_nic/d; /storage_nic:/d' \
    playbooks/preflight.yml > "$playbook"
fi
ANSIBLE_ROLES_PATH="$ROOT/roles" ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_CALLBACK_RESULT_FORMAT=yaml \
  ansible-playbook -i "$OUT/inventory" "$playbook" "${@:2}" | tee "$OUT/preflight.log"
