#!/bin/sh
# One round trip: what the kubernetes_node role must adapt to and what is
# already in place. Prints one JSON object. Arguments: kernel modules, then
# "--", then packages.
set -eu
modules=""
packages=""
seen_sep=false
for arg in "$@"; do
  if [ "$arg" = "--" ]; then seen_sep=true; continue; fi
  if $seen_sep; then packages="$packages $arg"; else modules="$modules $arg"; fi
done

bounding=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if [ $(( (0x$bounding >> 16) & 1 )) -eq 1 ]; then can_load=true; else can_load=false; fi
if [ -w /proc/sys/net/ipv4/ip_forward ]; then sysctl_writable=true; else sysctl_writable=false; fi
swap_active=$(awk 'NR > 1' /proc/swaps | wc -l)

loaded=""
for m in $modules; do
  # What counts is the function, loaded or built in (a built-in module need
  # not show in /sys/module; /proc/modules lists neither in a container).
  case "$m" in
    overlay) grep -qw overlay /proc/filesystems && active=true || active=false ;;
    br_netfilter) [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && active=true || active=false ;;
    *) [ -d "/sys/module/$m" ] && active=true || active=false ;;
  esac
  if $active; then state=active
  elif modprobe -n -q "$m" 2>/dev/null; then state=loadable
  else state=missing; fi
  loaded="${loaded:+$loaded, }\"$m\": \"$state\""
done

installed=""
for p in $packages; do
  v=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$p" 2>/dev/null || true)
  case "$v" in
    "installed "*) installed="${installed:+$installed, }\"$p\": \"${v#installed }\"" ;;
  esac
done
fstab=$([ -f /etc/fstab ] && echo true || echo false)
held=$(apt-mark showhold 2>/dev/null | awk '{printf "%s\"%s\"", (NR > 1 ? ", " : ""), $1}')

. /etc/os-release
printf '{"can_load_modules": %s, "sysctl_writable": %s, "swap_active": %s, "fstab": %s, "modules": {%s}, ' \
  "$can_load" "$sysctl_writable" "$swap_active" "$fstab" "$loaded"
printf '"installed": {%s}, "held": [%s], "kubeadm": "%s", "kubelet": "%s", ' \
  "$installed" "$held" "$(command -v kubeadm || true)" "$(command -v kubelet || true)"
printf '"joined": %s, "os_id": "%s", "os_version": "%s", "os_codename": "%s"}\n' \
  "$([ -e /etc/kubernetes/kubelet.conf ] && echo true || echo false)" \
  "${ID:-}" "${VERSION_ID:-}" "${VERSION_CODENAME:-}"
