#!/usr/bin/env bash
# Debian packages the integration tests and benchmarks use. Idempotent; needs root (or sudo).
set -euo pipefail
# podman: the tests also run flowpack against its Docker-compatible API (scripts/services.sh starts it).
packages=(docker.io docker-registry skopeo umoci busybox-static apache2-utils git podman)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "system packages: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
