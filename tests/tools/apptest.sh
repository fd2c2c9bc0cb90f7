# apptest.sh - for the real-application tests (tests/e2e/5x-*.sh), after lib.sh:
#
#	. "$(dirname "$0")/../lib.sh"
#	. "$TOP/tests/tools/apptest.sh"
#	run_py "$TMP/check.py" ARGS...     # its "ok - "/"not ok - " lines count here
#
# A script that dies without saying why (a traceback) is one "not ok".
# Its python finds tests/tools/apptest.py on its path.

run_py() {
	local line rc=""
	while IFS= read -r line; do
		case "$line" in
		"__rc "*) rc=${line#__rc } ;;
		"ok - "*) echo "$line"; T_PASS=$((T_PASS + 1)) ;;
		"not ok - "*) echo "$line"; T_FAIL=$((T_FAIL + 1)) ;;
		*) echo "$line" ;;
		esac
	done < <(PYTHONPATH="$TOP/tests/tools" timeout "${PY_TIMEOUT:-900}" python3 "$@" 2>&1; echo "__rc $?")
	[ "$rc" = 0 ] || not_ok "$(basename "$1") ended with status $rc"
}
