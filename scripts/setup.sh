#!/usr/bin/env bash
# Installs the system packages protfs builds and tests against (Debian 12, as root).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "scripts/setup.sh: run as root (installs Debian packages)" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  libfuse3-dev fuse3 libssl-dev openssl libsqlite3-dev sqlite3 pkg-config attr python3 util-linux passwd curl libcurl4 libcurl4-openssl-dev ca-certificates >/dev/null
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
swift --version | head -1
