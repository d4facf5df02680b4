#!/usr/bin/env bash
# A full `make test` leaves nothing in /tmp (issue 13). `save F` records
# what the temp folder holds before the tests; `check F` fails, naming
# them, if entries of the kinds the suite and its tools make are new:
# the tests' own folders (aws-oidc-*), Wine's server folder (wine-*,
# .wine-*), Python's and buildah's temporary files (tmp*, buildah*).
# By name, before and after: another program making such names in /tmp
# meanwhile can make it fail (a `make mutants` that kills a hung test
# leaves its aws-oidc-* folders behind); folders of test processes still
# running are not counted.
set -euo pipefail
tmp=${TMPDIR:-/tmp}
ours() { ls -A "$tmp" | grep -E '^(aws-oidc-|\.?wine-|tmp|buildah)' | LC_ALL=C sort || true; }
case ${1:-} in
save) ours >"$2" ;;
check)
	# A test folder is named aws-oidc-TAG-PID-N: one whose process still
	# runs belongs to another run going on beside this one (a `make
	# mutants`), not to this suite, whose processes have all ended.
	left=$(LC_ALL=C comm -13 "$2" <(ours) | while IFS= read -r name; do
		pid=$(printf '%s\n' "$name" | sed -n 's/^aws-oidc-.*-\([0-9][0-9]*\)-[0-9][0-9]*$/\1/p')
		[ -n "$pid" ] && [ -d "/proc/$pid" ] || printf '%s\n' "$name"
	done)
	rm -f "$2"
	if [ -n "$left" ]; then
		echo "make test left these in $tmp; a test or tool does not clean up after itself:" >&2
		printf '%s\n' "$left" | sed 's/^/  /' >&2
		exit 1
	fi
	;;
*)
	echo "usage: $0 save|check FILE" >&2
	exit 2
	;;
esac
