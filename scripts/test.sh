#!/usr/bin/env bash
# Runs every test of phoned. First installs, from Debian's packages, the
# real peers the tests use when they are missing (SIPp, Kamailio, baresip,
# Chromium, sox), then runs `go test -race ./...`. Extra arguments go to
# go test (e.g. ./scripts/test.sh -run Planner -v).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ] || need+=(kamailio)
command -v baresip >/dev/null 2>&1 || need+=(baresip-core)
[ -x /usr/lib/chromium/chromium ] || need+=(chromium)
command -v sox >/dev/null 2>&1 || need+=(sox)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing test peers: ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

exec go test -race -count=1 -timeout 20m ./... "$@"
