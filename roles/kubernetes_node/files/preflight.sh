#!/bin/sh
# Read-only answers for `gpucluster check`: modules, swap, listeners on the
# given TCP ports, the container runtime socket, this node's clock, and what
# Kubernetes already runs here. Arguments: modules, "--", ports, "--",
# packages. Prints one JSON object.
set -eu
part=0; modules=""; ports=""; packages=""
for arg in "$@"; do
  if [ "$arg" = "--" ]; then part=$((part + 1)); continue; fi
  case $part in
    0) modules="$modules $arg" ;;
    1) ports="$ports $arg" ;;
    *) packages="$packages $arg" ;;
  esac
done
epoch=$(date +%s.%N)

mods=""
for m in $modules; do
  case "$m" in
    overlay) grep -qw overlay /proc/filesystems && active=true || active=false ;;
    br_netfilter) [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && active=true || active=false ;;
    *) [ -d "/sys/module/$m" ] && active=true || active=false ;;
  esac
  if $active; then state=active
  elif modprobe -n -q "$m" 2>/dev/null; then state=loadable
  else state=missing; fi
  mods="${mods:+$mods, }\"$m\": \"$state\""
done

listeners=""
for p in $ports; do
  who=$(ss -Hltnp "sport = :$p" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)".*/\1/p' | sort -u | paste -sd, - || true)
  if [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
    listeners="${listeners:+$listeners, }\"$p\": \"${who:-unknown process}\""
  fi
done

installed=""
for p in $packages; do
  v=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$p" 2>/dev/null || true)
  case "$v" in
    "installed "*) installed="${installed:+$installed, }\"$p\": \"${v#installed }\"" ;;
  esac
done

socket=/run/containerd/containerd.sock
printf '{"epoch": %s, "modules": {%s}, "swap_active": %s, "listeners": {%s}, ' \
  "$epoch" "$mods" "$(awk 'NR > 1' /proc/swaps | wc -l)" "$listeners"
printf '"containerd": %s, "containerd_socket": %s, "installed": {%s}, ' \
  "$(command -v containerd >/dev/null && echo true || echo false)" \
  "$([ -S $socket ] && echo true || echo false)" "$installed"
printf '"joined": %s, "initialised": %s}\n' \
  "$([ -e /etc/kubernetes/kubelet.conf ] && echo true || echo false)" \
  "$([ -e /etc/kubernetes/admin.conf ] && echo true || echo false)"
