#!/usr/bin/env bash
# 17-fairness.sh - regression tests of issue 8, defects 5, 6 and 11: one
# user or one hung agent costs nobody else anything, and an agent always
# answers its health probe.
#
#	bash tests/e2e/17-fairness.sh      (as root)
#
# - defect 5: per-user limits (max_user_sessions: B's third mkdir is EAGAIN,
#   A's still works). While B's session serves `wait 30000` with 270 readers
#   of observation.json piled on it, A's `cat status` stays fast (p99 <= 100
#   ms here; the issue's target is 10 ms, printed as a "# " line), A's
#   screenshot comes within 2 s, and B's `stop` returns within 3 s.
# - defect 6: with its agent stopped (SIGSTOP), three concurrent screenshots
#   each fail within agent_timeout + 1.5 s (not 1x, 2x, 3x), status stays
#   readable and says failed within agent_timeout + 3 s, rmdir takes at most
#   agent_timeout + 2 s, and nothing of the session is left.
# - defect 11: /health answers within 1 s during `wait 6000`; `type waiting`
#   is bounded like any action without a wait; a remote session given
#   `wait 15000` stays ready.
# (Per-user memory of unread .events is not checked: with the 1 MiB per-reader
# cap, 300 readers stay under 300 MB even today; showing the defect takes
# ~1500 readers and gigabytes, too much for a shared 2-core test box.)
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/tools/regress.sh"
need_fuse
need_xvfb
need_cmd setpriv "apt-get install util-linux"
need_cmd curl "apt-get install curl"
[ "$(id -u)" -eq 0 ] || skip_all "needs root to mount with allow_other and switch uids"
chmod 0755 "$TMP"

# ---- defect 5: per-user session limit ----
if try_mount -o allow_other,width=320,height=200,max_sessions=4,max_user_sessions=2; then
	ok "a mount with max_sessions=4,max_user_sessions=2"
	check "B's first two sessions are made" bash -c "${AS_B[*]} mkdir '$MNT/b1' && ${AS_B[*]} mkdir '$MNT/b2'"
	check "defect 5: B's third mkdir fails with EAGAIN" bash -c \
		"! ${AS_B[*]} mkdir '$MNT/b3' 2>'$TMP/b3.err' && grep -q 'Resource temporarily unavailable' '$TMP/b3.err'"
	check "defect 5: while A can still mkdir" mkdir "$MNT/a1"
	check "  (and the global limit still holds: A's second is the 4th, A's third the 5th)" bash -c \
		"mkdir '$MNT/a2' && ! mkdir '$MNT/a3' 2>/dev/null"
	for s in a1 a2 a3; do timeout -s KILL 10 rmdir "$MNT/$s" 2>/dev/null; done
	for s in b1 b2 b3; do timeout -s KILL 10 "${AS_B[@]}" rmdir "$MNT/$s" 2>/dev/null; done
	unmount_deskfs
else
	not_ok "defect 5: a mount with max_sessions=4,max_user_sessions=2 (the option is refused)"
fi

# ---- defect 5: one user's pile-up does not freeze another ----
mount_deskfs -o allow_other,width=320,height=200
tk mkdir "$MNT/a1"
as_b mkdir "$MNT/b1"
check "A's and B's sessions are ready" bash -c "timeout -s KILL 20 sh -c \"echo 'wait 1' > '$MNT/a1/actions'\" && timeout -s KILL 20 ${AS_B[*]} sh -c \"echo 'wait 1' > '$MNT/b1/actions'\""
read -r q50 q99 qmax _ _ < <($PY "$TOP/tests/tools/latency.py" 20 5 cat "$MNT/a1/status")
t=$(now_ms)
timeout -s KILL 5 cat "$MNT/a1/screenshot.png" >/dev/null
echo "# quiet: A's cat status p50 $q50 ms, p99 $q99 ms; screenshot $(($(now_ms) - t)) ms"
spawn "$TMP/bwait" "${AS_B[@]}" sh -c "echo 'wait 30000' > '$MNT/b1/actions'"
sleep 0.5
# 270 readers, as in the issue's report: the old daemon's 256 FUSE workers then all wait
# on B's session (with 200 they do not run out, and A is not starved even before the fix)
NPILE=270
spawn "$TMP/pile" "${AS_B[@]}" bash -c "for i in \$(seq $NPILE); do timeout --foreground -s KILL 45 cat '$MNT/b1/observation.json' >/dev/null 2>&1 & done; wait"
sleep 2
echo "# B's pile: $(ps -eo pgid=,comm= | awk -v g="$(cat "$TMP/pile.pgid")" '$1 == g && $2 == "cat"' | wc -l) of $NPILE readers still waiting"
check "B's wait 30000 is in flight" test ! -e "$TMP/bwait.rc"
read -r p50 p99 pmax fails touts < <($PY "$TOP/tests/tools/latency.py" 50 5 cat "$MNT/a1/status")
echo "# under B's pile: A's cat status p50 $p50 ms, p99 $p99 ms, max $pmax ms ($touts of 50 over 5 s; issue 8's target p99 <= 10 ms)"
check "defect 5: A's cat status p99 <= 100 ms while B's session is piled on (p99 $p99 ms)" \
	awk -v p="$p99" -v t="$touts" 'BEGIN{exit !(p <= 100 && t == 0)}'
check "  A's reads of status all worked" test "$fails" = 0 -a "$touts" = 0
bounded 2 "$TMP/ashot" sh -c "cat '$MNT/a1/screenshot.png' | head -c 8 | grep -q PNG"
echo "# under B's pile: A's screenshot: $MS ms"
check "defect 5: A's screenshot works within 2 s" test "$RC" = 0
check "B's wait 30000 is still in flight" test ! -e "$TMP/bwait.rc"
bounded 3 "$TMP/bstop" "${AS_B[@]}" sh -c "echo stop > '$MNT/b1/ctl'"
echo "# B's stop during its wait 30000: ${MS} ms (rc $RC)"
check "defect 5: B's stop returns within 3 s during its wait 30000" test "$RC" = 0
await "$TMP/bwait" 0.1
await "$TMP/pile" 0.1
timeout -s KILL 10 "${AS_B[@]}" rmdir "$MNT/b1" 2>/dev/null
timeout -s KILL 10 rmdir "$MNT/a1" 2>/dev/null
unmount_deskfs

# ---- defect 6: a hung agent costs each caller agent_timeout, once ----
AT=3
mount_deskfs -o width=320,height=200,agent_timeout=$AT
tk mkdir "$MNT/h"
check "a session h works" bash -c "echo 'wait 1' > '$MNT/h/actions' && timeout -s KILL 5 cat '$MNT/h/screenshot.png' | head -c 8 | grep -q PNG"
AG=$(jget "$MNT/h/session.json" "j['pids']['agent']")
XV=$(jget "$MNT/h/session.json" "j['pids']['xvfb']")
kill -STOP "$AG"
T0=$(now_ms)
for i in 1 2 3; do spawn "$TMP/hs$i" cat "$MNT/h/screenshot.png"; done
slow=0 failed_at=""
while [ $(($(now_ms) - T0)) -lt $((AT * 1000 + 3000)) ]; do
	if ! bounded 3 "$TMP/hst" cat "$MNT/h/status"; then
		slow=1
		continue
	fi
	[ "$(cat "$TMP/hst.out")" = failed ] && failed_at=$(($(now_ms) - T0)) && break
	sleep 0.2
done
check "while the agent hangs, status answers within 3 s" test "$slow" = 0
check "defect 6: status says failed within agent_timeout + 3 s (${failed_at:-never} ms)" test -n "$failed_at"
times=""
for i in 1 2 3; do
	await "$TMP/hs$i" $((AT * 3 + 6))
	times="$times $MS:$RC"
done
echo "# three concurrent screenshots of a hung agent (agent_timeout=$AT): ms:rc$times"
for i in 1 2 3; do
	set -- $times
	e=${!i}
	check "defect 6: screenshot $i fails within agent_timeout + 1.5 s (${e%%:*} ms)" \
		bash -c "[ '${e#*:}' != 0 ] && [ '${e%%:*}' -ge 0 ] && [ '${e%%:*}' -le $((AT * 1000 + 1500)) ]"
done
bounded $((AT + 2)) "$TMP/hrm" rmdir "$MNT/h"
echo "# rmdir of the hung session: $MS ms (rc $RC)"
check "defect 6: rmdir of it returns within agent_timeout + 2 s" test "$RC" = 0
kill -CONT "$AG" 2>/dev/null
check "  the session is gone" until_ok 15 test ! -e "$MNT/h"
check "  and nothing of it runs (agent, Xvfb)" until_ok 2 all_dead "$AG" "$XV"
# rmdir while three screenshots wait on a hung agent
tk mkdir "$MNT/h2"
tk sh -c "echo 'wait 1' > \"$MNT/h2/actions\""
AG=$(jget "$MNT/h2/session.json" "j['pids']['agent']")
XV=$(jget "$MNT/h2/session.json" "j['pids']['xvfb']")
kill -STOP "$AG"
for i in 1 2 3; do spawn "$TMP/h2s$i" cat "$MNT/h2/screenshot.png"; done
sleep 0.3
bounded $((AT + 2)) "$TMP/h2rm" rmdir "$MNT/h2"
echo "# rmdir while three screenshots wait on the hung agent: $MS ms (rc $RC)"
check "defect 6: rmdir during three waiting screenshots returns within agent_timeout + 2 s" test "$RC" = 0
kill -CONT "$AG" 2>/dev/null
check "  the session is gone" until_ok 15 test ! -e "$MNT/h2"
check "  and nothing of it runs (agent, Xvfb)" until_ok 2 all_dead "$AG" "$XV"
for i in 1 2 3; do await "$TMP/h2s$i" 5; done

# ---- defect 11: the agent answers /health during a long action ----
tk mkdir "$MNT/s"
tk sh -c "echo 'wait 1' > \"$MNT/s/actions\""
SOCK=$STATE/s/agent.sock
TOKEN=$(cat "$STATE/s/token" 2>/dev/null)
health() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' -m 1 --unix-socket "$SOCK" \
		-H "Authorization: Bearer $TOKEN" http://x/health)" = 200 ]
}
check "the agent's /health answers (idle)" health
spawn "$TMP/w6" sh -c "echo 'wait 6000' > '$MNT/s/actions'"
sleep 0.5
t=$(now_ms)
check "defect 11: /health answers within 1 s during a wait 6000" health
echo "# /health during wait 6000: $(($(now_ms) - t)) ms"
check "  (the wait was in flight)" test ! -e "$TMP/w6.rc"
await "$TMP/w6" 15
check "  and the wait 6000 completed, after 6 s" test "$RC" = 0 -a "$MS" -ge 5500
check "type waiting completes normally" ok_within 5 sh -c "echo 'type waiting' > '$MNT/s/actions'"
# the bound of an actions write comes from the actions, not from words in them
tk mkdir "$MNT/s2" "$MNT/s3"
tk sh -c "echo 'wait 1' > \"$MNT/s2/actions\""
tk sh -c "echo 'wait 1' > \"$MNT/s3/actions\""
AG2=$(jget "$MNT/s2/session.json" "j['pids']['agent']")
AG3=$(jget "$MNT/s3/session.json" "j['pids']['agent']")
kill -STOP "$AG2" "$AG3"
bounded $((AT + 5)) "$TMP/th" sh -c "echo 'type hello' > '$MNT/s3/actions'"
echo "# type hello to a hung agent (agent_timeout=$AT): $MS ms (rc $RC)"
check "'type hello' to a hung agent fails within agent_timeout + 1.5 s" \
	bash -c "[ '$RC' != 0 ] && [ '$MS' -ge 0 ] && [ '$MS' -le $((AT * 1000 + 1500)) ]"
bounded $((AT + 5)) "$TMP/tw" sh -c "echo 'type waiting' > '$MNT/s2/actions'"
echo "# type waiting to a hung agent (agent_timeout=$AT): $MS ms (rc $RC)"
check "defect 11: so does 'type waiting' (no +60 s for the word 'wait')" \
	bash -c "[ '$RC' != 0 ] && [ '$MS' -ge 0 ] && [ '$MS' -le $((AT * 1000 + 1500)) ]"
kill -CONT "$AG2" "$AG3"
timeout -s KILL 20 rmdir "$MNT/s3" "$MNT/s2" "$MNT/s"

# a remote session given wait 15000 stays ready
start_xvfb 320x200
umask 077
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/tok"
umask 022
"$BIN/deskfs-agent" --display "$XDPY" --listen tcp:127.0.0.1:0 --token-file "$TMP/tok" \
	--ready-fd 3 3>"$TMP/ready" 2>"$TMP/ragent.log" &
T_PIDS="$T_PIDS $!"
until_ok 10 grep -q '^ready [0-9]' "$TMP/ready"
PORT=$(awk '{print $2}' "$TMP/ready")
echo "create r1 provider=remote url=http://127.0.0.1:$PORT token_file=$TMP/tok" | tk tee "$MNT/.ctl" >/dev/null
check "a remote session is ready" until_ok 15 status_is r1 ready
spawn "$TMP/w15" sh -c "echo 'wait 15000' > '$MNT/r1/actions'"
bad=""
t=$(now_ms)
while [ ! -e "$TMP/w15.rc" ] && [ $(($(now_ms) - t)) -lt 25000 ]; do
	st=$(timeout -s KILL 3 cat "$MNT/r1/status" 2>/dev/null)
	[ "$st" = ready ] || bad="$bad $st"
	[ "$st" = failed ] && break
	sleep 0.5
done
await "$TMP/w15" 25
check "defect 11: a remote session stays ready through a wait 15000${bad:+ (saw:$bad)}" test -z "$bad"
check "  and the wait completes" test "$RC" = 0
tk rmdir "$MNT/r1"
finish
