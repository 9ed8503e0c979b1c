#!/bin/sh
# Index a directory of .deb files as a flat apt repository ("Suites: ./"):
# writes Packages and Release next to them. Used on nodes for an offline
# package directory, and by the Molecule scenario to build a signed test
# repository with pkgs.k8s.io's layout. Needs only dpkg-deb and coreutils.
set -eu
dir=$1
cd "$dir"
: > Packages.new
for deb in *.deb; do
  [ -e "$deb" ] || continue
  dpkg-deb -f "$deb" >> Packages.new
  printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' \
    "$deb" "$(stat -c %s "$deb")" "$(sha256sum "$deb" | cut -d' ' -f1)" >> Packages.new
done
mv Packages.new Packages
{
  echo "Origin: gpucluster"
  echo "Label: gpucluster kubernetes packages"
  echo "Date: $(LC_ALL=C date -u -r Packages '+%a, %d %b %Y %H:%M:%S UTC')"
  echo "SHA256:"
  printf ' %s %s Packages\n' "$(sha256sum Packages | cut -d' ' -f1)" "$(stat -c %s Packages)"
} > Release
