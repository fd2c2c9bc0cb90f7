#!/usr/bin/env bash
# The examples in examples/, each run against a real mount as a user would:
# agent-loop.sh (its scripted default and a command given to it), client.py
# (standard library only), watch.sh (.events and a session's events).
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
EX=$TOP/examples

mount_deskfs -o width=640,height=480

# ---- agent-loop.sh: the scripted default, no model ----
out=$(cd "$TMP" && timeout 120 sh "$EX/agent-loop.sh" -o "$TMP/loop" "$MNT/loop1" 2>&1)
echo "$out" | sed 's/^/# /'
check "agent-loop.sh runs its scripted list" grep -q "^5 actions performed" <<<"$out"
check "it saved a screenshot per step" bash -c "for i in 1 2 3 4 5; do '$TOOLS/pngtool' size '$TMP/loop/step-'\$i.png >/dev/null || exit 1; done"
check "every action was performed (a receipt per step)" grep -q 'last receipt: {"type":"receipt".*"action":"scroll"' <<<"$out"
check "no action was refused" bash -c "! grep -q refused <<<'$out'"
check "the session it made is gone" test ! -e "$MNT/loop1"

# ---- agent-loop.sh with a command as the model ----
mkdir "$MNT/loop2"
cat >"$TMP/model.sh" <<'EOF'
#!/bin/sh
# a stand-in model: reads the observation on stdin, gets the PNG as $1
obs=$(cat)
case "$obs" in *'"screen"'*) ;; *) echo "no observation" >&2; exit 1 ;; esac
[ -s "$1" ] || { echo "no screenshot" >&2; exit 1; }
n=$(cat "$(dirname "$1")/count" 2>/dev/null || echo 0)
n=$((n + 1)); echo $n >"$(dirname "$1")/count"
if [ $n -le 3 ]; then echo "click $((n * 10)) $((n * 20))"; else echo done; fi
EOF
chmod +x "$TMP/model.sh"
out=$(timeout 120 sh "$EX/agent-loop.sh" -n 10 -o "$TMP/loop2" "$MNT/loop2" "$TMP/model.sh" 2>&1)
echo "$out" | sed 's/^/# /'
check "agent-loop.sh takes its actions from the command it is given" grep -q "^step 3: click 30 60" <<<"$out"
check "and stops when the command says done" grep -q "^3 actions performed" <<<"$out"
check_eq "the cursor is where the last action put it" "30 60" "$(python3 -c "
import json; c=json.load(open('$MNT/loop2/observation.json'))['cursor']; print(c['x'], c['y'])")"
check "a session it did not make is left alone" test -d "$MNT/loop2"
echo 'echo "click 9999 9999"' >"$TMP/bad.sh"
out=$(timeout 60 sh "$EX/agent-loop.sh" -n 1 -o "$TMP/loop3" "$MNT/loop2" sh "$TMP/bad.sh" 2>&1)
check "a refused action is reported with the session's error" grep -q "refused: .*off" <<<"$out"
rmdir "$MNT/loop2"

# ---- client.py ----
out=$(cd "$TMP" && timeout 120 python3 "$EX/client.py" "$MNT" pyc 2>&1)
echo "$out" | sed 's/^/# /'
check "client.py saves a screenshot" bash -c "'$TOOLS/pngtool' size '$TMP/screenshot.png' >/dev/null"
check "client.py sends Anthropic and OpenAI actions and reads the observation" \
	grep -q "last action: key" <<<"$out"
check "client.py reports the screen" grep -q "screen {'width': 640, 'height': 480}" <<<"$out"
check "client.py destroys its session" test ! -e "$MNT/pyc"
check "client.py is standard library only, about 30 lines" bash -c "
	[ \$(wc -l <'$EX/client.py') -le 40 ] && ! grep -E '^(import|from) ' '$EX/client.py' | grep -vqE '^import (json|os|sys)(, (json|os|sys))*$'"

# ---- watch.sh ----
mkdir "$MNT/w1"
cat "$MNT/w1/status" >/dev/null
timeout 60 sh "$EX/watch.sh" "$MNT" w1 >"$TMP/watch.out" 2>&1 &
wpid=$!
T_PIDS="$T_PIDS $wpid"
# wait until both streams are open: a receipt only reaches a reader that is
wait_for ok bash -c "echo 'move 5 5' > '$MNT/w1/actions'; grep -q '^w1: .*receipt' '$TMP/watch.out' && echo ok"
mkdir "$MNT/w2"
echo 'move 7 7' >"$MNT/w1/actions"
rmdir "$MNT/w2"
rmdir "$MNT/w1"
check "watch.sh ends when its session is destroyed" bash -c "for i in \$(seq 100); do kill -0 $wpid 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
sed 's/^/# /' "$TMP/watch.out" | cut -c1-160
check "watch.sh shows the session's receipts" grep -q '^w1: {"type":"receipt".*"x":7' "$TMP/watch.out"
check "watch.sh shows other sessions coming and going on .events" \
	bash -c "grep -q '^mount: .*\"w2\"' '$TMP/watch.out' && grep '^mount: ' '$TMP/watch.out' | grep -q destroy"

unmount_deskfs
check_eq "the daemon exits 0" "0" "$DMN_STATUS"
finish
