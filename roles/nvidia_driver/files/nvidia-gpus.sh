#!/bin/sh
# Lists NVIDIA GPUs from the PCI bus, without needing a driver or lspci:
# vendor 0x10de with a display controller class (0x03xxxx: VGA or 3D).
# PCI_DEVICES_DIR overrides /sys/bus/pci/devices (tests use a recorded tree).
# Prints one JSON object: {"count": N, "devices": ["0000:17:00.0 10de:2330", ...]}.
set -eu
count=0
devices=""
for dev in "${PCI_DEVICES_DIR:-/sys/bus/pci/devices}"/*; do
  [ -r "$dev/vendor" ] && [ -r "$dev/class" ] || continue
  [ "$(cat "$dev/vendor")" = 0x10de ] || continue
  case "$(cat "$dev/class")" in
    0x03*) ;;
    *) continue ;;
  esac
  device_id=$(sed 's/^0x//' "$dev/device")
  entry="\"$(basename "$dev") 10de:$device_id\""
  devices="${devices:+$devices, }$entry"
  count=$((count + 1))
done
printf '{"count": %d, "devices": [%s]}\n' "$count" "$devices"
