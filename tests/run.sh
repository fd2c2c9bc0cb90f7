#!/usr/bin/env bash
# run.sh - run the test suite and print one closing line.
#
#	tests/run.sh unit | e2e | all
#
# Unit tests are build/tests/test_*; end-to-end tests are tests/e2e/*.sh,
# run as root against a real mount, real Xvfb and real X clients. A test
# exiting 77 is skipped and says why. With DESKFS_REQUIRE_ALL=1 (CI) a skip
# counts as a failure: on our machines every test must really run.
# A test must end with its "N passed, N failed" line: one without it, or
# one that passed no check at all, failed whatever its exit status; so
# does one that exits non-zero with no failed check.
# Sanitizer reports (ASAN_OPTIONS log_path) fail the run.
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
pass=0 fail=0 skipped=0 failed_names=""
SAN_DIR=$(mktemp -d /tmp/deskfs-san.XXXXXX)
# (a smaller quarantine than ASan's 256 MB: tests that bound the daemon's
# memory measure it, not freed blocks ASan holds back)
export ASAN_OPTIONS="log_path=$SAN_DIR/asan:detect_leaks=1:abort_on_error=0:quarantine_size_mb=16"
export UBSAN_OPTIONS="log_path=$SAN_DIR/ubsan:print_stacktrace=1"

run_one() {
	local name=$1
	shift
	local out rc t0 t1
	t0=$(date +%s.%N)
	out=$(timeout 600 "$@" 2>&1)
	rc=$?
	t1=$(date +%s.%N)
	local line p f
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n1)
	p=$(echo "$line" | awk '{print $1}')
	f=$(echo "$line" | awk '{print $3}')
	printf '%s\n' "$out" | grep -E '^(not ok|SKIP|# )' | sed "s|^|  [$name] |"
	if [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
		printf '%-28s SKIPPED\n' "$name"
		if [ "${DESKFS_REQUIRE_ALL:-0}" = 1 ]; then
			fail=$((fail + 1))
			failed_names="$failed_names $name(skipped)"
		fi
		return
	fi
	local why=""
	if [ -z "$line" ]; then
		why="no closing 'N passed, N failed' line"
	elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		why="it passed no check"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		why="it exited $rc with no failed check"
	elif [ "$(printf '%s\n' "$out" | grep -c '^not ok')" -gt "$f" ]; then
		why="its closing line counts fewer failures than its 'not ok' lines"
	fi
	p=${p:-0} f=${f:-0}
	if [ -n "$why" ]; then
		f=$((f + 1)) # a test that cannot say what it checked failed
		echo "  [$name] not ok - $why (exit $rc)"
		printf '%s\n' "$out" | tail -n 20 | sed "s|^|  [$name] |"
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	[ "$f" -gt 0 ] && failed_names="$failed_names $name"
	printf '%-28s %3d passed, %d failed  (%.1fs)\n' "$name" "$p" "$f" "$(awk "BEGIN{print $t1 - $t0}")"
}

if [ "$what" = unit ] || [ "$what" = all ]; then
	for t in build/tests/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.d) continue ;; esac
		run_one "unit/$(basename "$t")" "$t"
	done
fi
if [ "$what" = e2e ] || [ "$what" = all ]; then
	for t in tests/e2e/*.sh; do
		run_one "e2e/$(basename "$t" .sh)" bash "$t"
	done
fi

if ls "$SAN_DIR"/* >/dev/null 2>&1; then
	echo "sanitizer reports:"
	cat "$SAN_DIR"/* | head -100
	fail=$((fail + 1))
	failed_names="$failed_names sanitizer"
fi
rm -rf "$SAN_DIR"
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
