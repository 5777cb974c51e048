#!/usr/bin/env bash
# Install the Debian packages the harness needs (Prometheus), when they are missing.
set -euo pipefail
missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
SUDO=""
[[ "$(id -u)" -eq 0 ]] || SUDO="sudo"
echo "[deps] installing Debian packages: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
