#!/bin/sh
# watch.sh - follow what happens on a deskfs mount, as JSON lines.
#
#	examples/watch.sh MOUNT              every session created, changed, destroyed
#	examples/watch.sh MOUNT SESSION      and that session's receipts and errors too
#
# Lines from MOUNT/.events start with "mount:", those from SESSION/events
# with "SESSION:". A session's stream ends when it is destroyed; the script
# runs until it is interrupted (or, with SESSION, until that session is gone).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 MOUNT [SESSION]" >&2; exit 2; }
M=$1
while IFS= read -r ev; do echo "mount: $ev"; done <"$M/.events" &
all=$!
trap 'kill $all 2>/dev/null' EXIT INT TERM
if [ $# -ge 2 ]; then
	while IFS= read -r ev; do echo "$2: $ev"; done <"$M/$2/events"
	# the session's stream ended: it was destroyed; let .events say so
	sleep 0.2
else
	wait $all
fi
