#!/usr/bin/env bash
# VM sessions (provider=qemu), really booting VMs (TCG here, KVM where it
# works): --dry-run, readiness, a QMP screenshot while booting, input that
# reaches an X client inside the guest (xev, whose events the guest prints
# on its console), the token, rmdir, and the faults: a killed qemu, a guest
# whose agent never starts, a daemon killed with SIGKILL.
# Prints the timings it measures as "# ..." lines.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
need_cmd curl
GUEST=$TOP/build/guest
[ -s "$GUEST/vmlinux" ] && [ -s "$GUEST/initramfs.cpio" ] ||
	skip_all "no VM guest in build/guest (make guest runs contrib/build-guest.sh)"

jget() { # jget FILE PYEXPR  (j is the parsed file)
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null
}
# wait_until SECONDS CMD...: poll every 50 ms
wait_until() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
status_is() { [ "$(cat "$MNT/$1/status" 2>/dev/null)" = "$2" ]; }
qemu_pid() { jget "$MNT/$1/session.json" "j['pids'].get('qemu','')"; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
# gone PID: not running (lib.sh: a zombie child of the daemon is NOT gone, it is a leak)
gone() { ! running "$1"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---- --dry-run: nothing starts ----
before=$(pgrep -c qemu-system || true)
DRY=$(timeout 20 "$BIN/deskfs" --dry-run -o provider=qemu,width=1024,height=768)
check "--dry-run exits 0" test $? -eq 0
check "it prints the exact qemu command line" \
	grep -qE '^qemu: [^ ]*qemu-system-x86_64 .*-M q35 .*-kernel [^ ]*/vmlinux .*-initrd [^ ]*/initramfs.cpio' <<<"$DRY"
check "with QMP on a socket the daemon listens on, and the console in a file" \
	grep -qE -- '-chardev socket,id=qmp,path=[^ ]*/.qmp-ID.sock,.*-mon chardev=qmp,mode=control .*path=[^ ]*/artifacts/console.log' <<<"$DRY"
check "with hostfwd to 127.0.0.1 and no other way out" \
	grep -qE 'user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:0-:7070' <<<"$DRY"
check "the token goes by fw_cfg from a file, never in argv" \
	grep -qE 'fw_cfg name=opt/deskfs/token,file=[^ ]*/token( |$)' <<<"$DRY"
check "it prints the kernel command line with the size" \
	grep -qE '^kernel: console=ttyS0 .*deskfs.size=1024x768' <<<"$DRY"
check "it says whether KVM would be used, and why" \
	grep -qE '^accel: (kvm|tcg)$' <<<"$DRY"
check "  (the why)" grep -qE '^accel_why: (kvm|tcg): .{20,}' <<<"$DRY"
check_eq "--dry-run started no qemu" "$before" "$(pgrep -c qemu-system || true)"
check "--dry-run without provider=qemu is a usage error" bash -c "! '$BIN/deskfs' --dry-run 2>/dev/null"

# ---- a full session ----
export DESKFS_QEMU_APPEND="deskfs.xev=1" # the guest runs xev, printing its events on the console
mount_deskfs -o provider=qemu,width=800,height=600
check ".providers.json: qemu is available, and says KVM or TCG and why" python3 -c "
import json,sys; p={x['name']:x for x in json.load(open('$MNT/.providers.json'))['providers']}
q=p['qemu']; sys.exit(0 if q['available'] and ('accel kvm' in q['why'] or 'accel tcg' in q['why']) and p['remote']['available'] else 1)"
cat "$MNT/.events" >"$TMP/events" &
EVPID=$!
T_PIDS="$T_PIDS $EVPID"
sleep 0.2
t0=$(date +%s%N)
check "mkdir creates a VM session" mkdir "$MNT/vm1"
check "it becomes ready" wait_until 90 status_is vm1 ready
echo "# mkdir -> ready (as the status file shows): $(ms_since "$t0") ms"
check_eq "session.json: qemu, runtime_ready, the requested size" "qemu runtime_ready 800 600" \
	"$(jget "$MNT/vm1/session.json" "j['provider'],j['readiness'],j['width'],j['height']" | tr -d "(),'")"
check "session.json names the VM: pid, QMP socket, accelerator, endpoint" python3 -c "
import json,sys; j=json.load(open('$MNT/vm1/session.json'))
v=j['vm']; sys.exit(0 if j['pids']['qemu']>0 and v['qmp_socket'].endswith('.sock') and v['accel'] in ('kvm','tcg')
  and j['agent']['endpoint'].startswith('http://127.0.0.1:') and j['agent']['attached'] else 1)"
check "readiness went booting -> desktop_ready -> bridge_listening -> bridge_attached -> runtime_ready" python3 -c "
import json,sys
seq=[]; t={}
for l in open('$TMP/events'):
    e=json.loads(l)
    if e.get('session')!='vm1': continue
    if e.get('type')=='created': t['created']=e['ts']
    if e.get('type')=='state' and (not seq or seq[-1]!=e['readiness']): seq.append(e['readiness'])
    if e.get('readiness')=='runtime_ready': t.setdefault('ready',e['ts'])
print('# readiness:', ' -> '.join(seq))
sys.exit(0 if seq==['booting','desktop_ready','bridge_listening','bridge_attached','runtime_ready'] else 1)"
python3 -c "
import json,datetime
t={}
for l in open('$TMP/events'):
    e=json.loads(l)
    if e.get('session')!='vm1': continue
    if e.get('type')=='created': t.setdefault('c',e['ts'])
    if e.get('readiness')=='runtime_ready': t.setdefault('r',e['ts'])
f=lambda s: datetime.datetime.fromisoformat(s.replace('Z','+00:00'))
print('# mkdir -> runtime_ready (events): %.2f s (target <= 3.5 s under TCG)' % (f(t['r'])-f(t['c'])).total_seconds())"

QPID=$(qemu_pid vm1)
EP=$(jget "$MNT/vm1/session.json" "j['agent']['endpoint']")
TOKEN=$(cat "$STATE/vm1/token")
t=$(date +%s%N)
cat "$MNT/vm1/screenshot.png" >"$TMP/vm1.png"
echo "# first screenshot 800x600 (a full capture and PNG encoding in the guest): $(ms_since "$t") ms"
check_eq "screenshot.png decodes at the requested size" "800 600" "$("$TOOLS/pngtool" size "$TMP/vm1.png")"
check_eq "and it came from the agent" "agent" "$(jget "$MNT/vm1/session.json" "j['screenshot_source']")"
t=$(date +%s%N)
for i in 1 2 3 4 5; do cat "$MNT/vm1/screenshot.png" >/dev/null; done
echo "# screenshot 800x600 again, screen unchanged: $(($(ms_since "$t") / 5)) ms"

check "an X client runs in the guest (xev, seen in observation.json)" wait_until 20 python3 -c "
import json,sys; j=json.load(open('$MNT/vm1/observation.json'))
sys.exit(0 if any(w.get('title')=='Event Tester' for w in j['windows']) else 1)"
check "move: observation.json shows the cursor there" bash -c "echo 'move 123 234' >'$MNT/vm1/actions' &&
	test \"\$(python3 -c \"import json; c=json.load(open('$MNT/vm1/observation.json'))['cursor']; print(c['x'],c['y'])\")\" = '123 234'"
t=$(date +%s%N)
check "click 50 60 is accepted" bash -c "echo 'click 50 60' >'$MNT/vm1/actions'"
echo "# click in the VM (one write): $(ms_since "$t") ms"
check "type Hi is accepted" bash -c "echo 'type Hi' >'$MNT/vm1/actions'"
CON=$MNT/vm1/artifacts/console.log
check "the click reached the X client inside the guest (xev: ButtonPress at 50,60)" \
	wait_until 10 grep -q 'root:(50,60)' "$CON"
check "the typed text reached it too (xev: H, then i)" wait_until 10 bash -c \
	"grep -q 'XLookupString gives 1 bytes: (48) \"H\"' '$CON' && grep -q 'XLookupString gives 1 bytes: (69) \"i\"' '$CON'"
check "the receipts came back from the guest" bash -c "grep -q '\"action\":\"type\"' '$MNT/vm1/actions'"
RSS=$(ps -o rss= -p "$QPID" | tr -d ' ')
PSS=$(awk '/^Pss:/ {print $2}' "/proc/$QPID/smaps_rollup" 2>/dev/null)
echo "# qemu RSS of an idle 256 MB VM: $((RSS / 1024)) MB (PSS $((${PSS:-0} / 1024)) MB; kernel and initramfs are shared file pages)"

# ---- security: the token ----
check_eq "the agent refuses a request without the token (401)" "401" \
	"$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$EP/health")"
check_eq "and one with a wrong token" "401" \
	"$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H 'Authorization: Bearer nope' "$EP/screenshot.png")"
check_eq "it answers the session's token" "200" \
	"$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$EP/health")"
check "the token is not on qemu's command line" bash -c "! tr '\0' ' ' </proc/$QPID/cmdline | grep -q '$TOKEN'"
check "the agent listens on loopback only, on the host" bash -c "ss -ltn | grep -q '127.0.0.1:${EP##*:} '"

# ---- before the agent is up: QMP screendump; actions wait ----
echo 'create vm2 memory=320 cpus=2' >"$MNT/.ctl"
monitor_up() { [ "$(jget "$MNT/$1/session.json" "j['vm'].get('host_port',0)")" -gt 0 ]; }
wait_until 20 monitor_up vm2
check "while booting, screenshot.png answers at once (QMP screendump)" bash -c \
	"cat '$MNT/vm2/screenshot.png' >'$TMP/boot.png' && '$TOOLS/pngtool' size '$TMP/boot.png' >/dev/null"
check_eq "and session.json says it came from qmp" "qmp" "$(jget "$MNT/vm2/session.json" "j['screenshot_source']")"
check "an action written while booting waits for the agent, then works" bash -c "echo 'move 5 5' >'$MNT/vm2/actions'"
check_eq "so the session is ready" "ready" "$(cat "$MNT/vm2/status")"
check "memory= and cpus= reach qemu" bash -c "tr '\0' ' ' </proc/$(qemu_pid vm2)/cmdline | grep -- '-m 320 ' | grep -q -- '-smp 2 '"
check_eq "  and session.json" "320 2" "$(jget "$MNT/vm2/session.json" "j['vm']['memory_mb'],j['vm']['cpus']" | tr -d '(),')"

# ---- rmdir: nothing left ----
t=$(date +%s%N)
check "rmdir destroys the VM session" rmdir "$MNT/vm1"
echo "# rmdir of a running VM (powerdown): $(ms_since "$t") ms"
check "its qemu is gone" gone "$QPID"
check "its state directory is gone" test ! -e "$STATE/vm1"

# ---- fault: qemu killed ----
Q2=$(qemu_pid vm2)
kill -9 "$Q2"
check "kill -9 of qemu: the session becomes failed" wait_until 10 status_is vm2 failed
check_eq "error says qemu died" "qemu_died" "$(jget "$MNT/vm2/error" "j['code']")"
check "artifacts/diagnostics.json has the timeline, attempts, last error and console tail" python3 -c "
import json,sys; d=json.load(open('$MNT/vm2/artifacts/diagnostics.json'))
sys.exit(0 if d['last_error'].startswith('qemu_died') and d['timeline'] and 'attempts' in d and 'agent_ready' in d['console_tail'] else 1)"
rmdir "$MNT/vm2"

# ---- the daemon killed with SIGKILL: the VM is recorded, and re-attached ----
mkdir "$MNT/vm4"
wait_until 90 status_is vm4 ready
Q4=$(qemu_pid vm4)
check "the record in the state directory names the qemu" grep -q "\"pid\":[[:space:]]*$Q4" "$STATE/vm4/record.json"
mkdir "$MNT/vm5" # still booting when the daemon dies
for i in $(seq 1 100); do
	Q5=$(qemu_pid vm5)
	[ -n "$Q5" ] && break
	sleep 0.02
done
check "a VM is recorded as soon as its qemu is spawned" grep -q "\"pid\":[[:space:]]*$Q5" "$STATE/vm5/record.json"
kill "$EVPID" 2>/dev/null # it holds the mount open
wait "$EVPID" 2>/dev/null
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=""
fusermount3 -u "$MNT"
check "after kill -9 of the daemon the VMs keep running" bash -c "kill -0 $Q4 && kill -0 $Q5"
mount_deskfs -o provider=qemu,width=800,height=600
check "the next daemon re-attaches to it" wait_until 30 status_is vm4 ready
check_eq "the very same qemu serves it" "$Q4" "$(qemu_pid vm4)"
check "and it works" bash -c "cat '$MNT/vm4/screenshot.png' >'$TMP/vm4.png' && echo 'click 3 3' >'$MNT/vm4/actions'"
check "rmdir then stops it" rmdir "$MNT/vm4"
check "  (its qemu is gone)" gone "$Q4"
check "a VM caught booting by the crash is cleaned up: failed" wait_until 20 status_is vm5 failed
check "  and its qemu is gone" wait_until 10 gone "$Q5"
rmdir "$MNT/vm5"
unmount_deskfs

# ---- fault: a guest whose agent never starts ----
export DESKFS_QEMU_APPEND="deskfs.agent=0"
mount_deskfs -o provider=qemu,width=640,height=480
t=$(date +%s%N)
echo 'create vm3 boot_timeout=10' >"$MNT/.ctl"
for i in $(seq 1 100); do
	Q3=$(qemu_pid vm3)
	[ -n "$Q3" ] && break
	sleep 0.05
done
check "its qemu runs" alive "$Q3"
check "a guest whose agent never starts fails within the bound" wait_until 30 status_is vm3 failed
took=$(ms_since "$t")
echo "# boot_timeout=10: failed after $took ms"
check "  (not long after it)" test "$took" -lt 16000
check_eq "error says why" "boot_timeout" "$(jget "$MNT/vm3/error" "j['code']")"
check "diagnostics say how far the guest got" python3 -c "
import json,sys; d=json.load(open('$MNT/vm3/artifacts/diagnostics.json'))
# how far it got depends on the machine's load; that it says so, and
# that the console's last words are there, does not
steps = [t['step'] for t in d['timeline'] if t['step'] not in ('failed', 'console')]
ok = d['reached'] != '' and d['attempts'] > 0 and d['console_tail'] != '' and \
     (d['reached'] in steps or d['reached'] == 'booting')
ok or print(d, file=sys.stderr)
sys.exit(0 if ok else 1)"
check "and the VM is stopped" wait_until 5 gone "$Q3"
rmdir "$MNT/vm3"
unmount_deskfs
no_qemu_left() { ! pgrep -f -- "qemu-system-x86_64 .*$STATE/" >/dev/null; }
check "no qemu of this test is left" no_qemu_left
finish
