#!/usr/bin/env bash
# Runs a command where only loopback exists: a new network namespace with
# just `lo` up. Any connection or DNS lookup beyond 127.0.0.0/8 and ::1
# then fails at once ("network is unreachable"), so a run that would fall
# back to a default AWS endpoint fails instead of reaching AWS. Sets
# AWS_OIDC_LOOPBACK_ONLY=1 inside, which the guard's own test checks.
#
# Needs root (CI runs as root), util-linux's unshare and iproute2's ip.
# Without them it says why and runs the command as is: the tests still pass
# explicit loopback endpoints, but nothing then enforces it.
set -euo pipefail

why=""
if [ "$(id -u)" != 0 ]; then
  why="not root"
elif ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
  why="unshare (util-linux) or ip (iproute2) is missing"
elif ! unshare --net true 2>/dev/null; then
  why="unshare --net is refused here (a container without CAP_SYS_ADMIN?)"
fi
if [ -n "$why" ]; then
  echo "loopback guard NOT active: $why; running without it" >&2
  exec "$@"
fi
echo "loopback guard: running in a network namespace with only lo" >&2
exec unshare --net -- sh -c 'ip link set lo up && AWS_OIDC_LOOPBACK_ONLY=1 exec "$@"' loopback-only "$@"
