#!/bin/sh
# agent-loop.sh - a computer-use agent loop with nothing but cat and echo.
#
#	examples/agent-loop.sh [-n STEPS] [-o OUTDIR] MOUNT/SESSION [COMMAND ARG...]
#
#	$ deskfs /mnt/desk
#	$ examples/agent-loop.sh /mnt/desk/demo                 # a scripted list, no model
#	$ examples/agent-loop.sh /mnt/desk/demo ./my-model --api-key-file k
#
# Each step saves the screen to OUTDIR/step-N.png, then asks COMMAND for the
# next action: COMMAND runs with the PNG's path as its last argument and the
# session's observation.json on its standard input, and prints one action
# line (text, or JSON in Anthropic, OpenAI or E2B shape), or "done". The
# action is written to SESSION/actions; if the write fails, SESSION/error
# says why and the loop goes on. The session is created if it does not exist
# and destroyed at the end if this script created it.
set -eu

steps=20 out=.
while getopts n:o: opt; do
	case $opt in
	n) steps=$OPTARG ;;
	o) out=$OPTARG ;;
	*) echo "usage: $0 [-n STEPS] [-o OUTDIR] MOUNT/SESSION [COMMAND ARG...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-n STEPS] [-o OUTDIR] MOUNT/SESSION [COMMAND ARG...]" >&2; exit 2; }
S=$1
shift

# The default "model": a scripted list of actions, one per step.
scripted() {
	case $step in
	1) echo 'move 100 100' ;;
	2) echo '{"action":"left_click","coordinate":[200,150]}' ;;
	3) echo '{"type":"keypress","keys":["ctrl","a"]}' ;;
	4) echo 'type hello from agent-loop.sh' ;;
	5) echo '{"action":"scroll","coordinate":[200,150],"scroll_direction":"down","scroll_amount":2}' ;;
	*) echo done ;;
	esac
}

made=0
if [ ! -d "$S" ]; then
	mkdir "$S"
	made=1
fi
mkdir -p "$out"
step=0 acted=0
while [ "$step" -lt "$steps" ]; do
	step=$((step + 1))
	cat "$S/screenshot.png" >"$out/step-$step.png"
	if [ $# -gt 0 ]; then
		action=$("$@" "$out/step-$step.png" <"$S/observation.json")
	else
		action=$(scripted)
	fi
	[ -n "$action" ] && [ "$action" != done ] || break
	echo "step $step: $action"
	if echo "$action" >"$S/actions"; then
		acted=$((acted + 1))
	else
		echo "step $step refused: $(cat "$S/error")" >&2
	fi
done
echo "$acted actions performed; last receipt: $(tail -n 1 "$S/actions")"
[ "$made" -eq 0 ] || rmdir "$S"
