#!/bin/sh
# Runs inside the node image (chroot or Dockerfile RUN) to make it boot like a
# fresh server under systemd: unique machine-id and SSH host keys per container.
set -eu
# Every container gets its own SSH host keys at first boot, not the image's.
rm -f /etc/ssh/ssh_host_*
cat > /etc/systemd/system/ssh-hostkeys.service <<'UNIT'
[Unit]
Description=Generate SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service
UNIT
mkdir -p /etc/systemd/system/ssh.service.wants /etc/systemd/system/multi-user.target.wants
ln -sf /etc/systemd/system/ssh-hostkeys.service /etc/systemd/system/ssh.service.wants/ssh-hostkeys.service
ln -sf /lib/systemd/system/ssh.service /etc/systemd/system/multi-user.target.wants/ssh.service
# systemd creates a machine-id at boot when the file is empty.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
mkdir -p /root/.ssh
chmod 0700 /root/.ssh
# Nothing in a container drives a console; these units only wait and fail.
for unit in getty.target console-getty.service systemd-firstboot.service; do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done
apt-get clean
