#!/bin/sh
# run.sh - `make fuzz`: run each libFuzzer target for a bounded time.
#
#	FUZZ_SECONDS=60 tests/fuzz/run.sh build/fuzz/fuzz_actions ...
#
# Each target gets FUZZ_SECONDS in all, in two runs over one working corpus
# (a temporary copy of tests/fuzz/corpus/<target>, so the repository is never
# written):
#   short  3/4 of the time, -max_len=4096: throughput, most of the execs;
#   long   1/4 of the time, -max_len=1 MiB, -len_control=0, with generated
#          seeds of ~1 MB lines and 100000-deep JSON added to the corpus.
# Per target it prints the execs (libFuzzer's stat::number_of_executed_units)
# and the crashes (crash-/leak-/timeout-/oom- artifacts, kept in
# build/fuzz/artifacts/<target>/ with the logs in build/fuzz/logs/), then one
# summary line. Exits 1 if anything crashed. Reproduce a crash with
#	build/fuzz/<target> build/fuzz/artifacts/<target>/crash-...
set -u
SECS=${FUZZ_SECONDS:-60}
LONG=$((SECS / 4))
SHORT=$((SECS - LONG))
[ "$SHORT" -ge 1 ] || SHORT=1
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=build/fuzz
WORK=$(mktemp -d /tmp/deskfs-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM

# Seeds too big to keep in the repository: written into the working corpus.
long_seeds() {
	python3 - "$1" "$2" <<'EOF'
import sys
t, d = sys.argv[1], sys.argv[2]
M = 1 << 20
seeds = {
    "fuzz_actions": {
        "long-type": b"type " + b"a" * (M - 8) + b"\n",
        "long-lines": b"click 1 1\n" * (M // 10 - 1),
        "long-json-text": b'{"action":"type","text":"' + b"x" * (M - 40) + b'"}',
        "deep-array": b"[" * 100000 + b"]" * 100000,
        "deep-object": b'{"a":' * 50000 + b"1" + b"}" * 50000,
        "long-number": b"click " + b"9" * (M - 16) + b" 1",
    },
    "fuzz_ctl": {
        "long-line": b"resize " + b"9" * (M - 16) + b"x64",
        "many-lines": b"stop\n" * (M // 5 - 1),
    },
    "fuzz_gctl": {
        "long-name": b"create " + b"a" * (M - 16),
        "many-keys": b"create s " + b"width=100 " * (M // 10 - 2),
        "long-value": b"create s url=http://" + b"h" * (M - 40),
    },
}
for name, data in seeds.get(t, {}).items():
    open(f"{d}/{name}", "wb").write(data)
EOF
}

# run TARGET KIND SECONDS MAXLEN [extra libFuzzer flags]: prints the execs
run() {
	t=$1 kind=$2 secs=$3 maxlen=$4
	shift 4
	bin=$OUT/$t
	dict=$HERE/${t#fuzz_}.dict
	log=$OUT/logs/$t-$kind.log
	set -- -max_total_time="$secs" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" "$@"
	[ -f "$dict" ] && set -- -dict="$dict" "$@"
	"$bin" "$@" "$WORK/$t" >"$log" 2>&1
	rc=$?
	n=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
	echo "${n:-0} $rc"
}

ntargets=$#
total=0
crashes=0
fail=""
mkdir -p "$OUT/logs"
for bin in "$@"; do
	t=$(basename "$bin")
	rm -rf "${OUT:?}/artifacts/$t"
	mkdir -p "$OUT/artifacts/$t" "$WORK/$t"
	cp "$HERE/corpus/$t/"* "$WORK/$t/" 2>/dev/null
	set -- $(run "$t" short "$SHORT" 4096)
	s_n=$1 s_rc=$2
	l_n=0 l_rc=0
	if [ "$s_rc" -eq 0 ] && [ "$LONG" -ge 1 ]; then
		long_seeds "$t" "$WORK/$t"
		set -- $(run "$t" long "$LONG" 1048576 -len_control=0)
		l_n=$1 l_rc=$2
	fi
	n=$((s_n + l_n))
	c=$(find "$OUT/artifacts/$t" -type f | wc -l)
	[ "$s_rc" -ne 0 ] || [ "$l_rc" -ne 0 ] && [ "$c" -eq 0 ] && c=1 # died without an artifact
	total=$((total + n))
	crashes=$((crashes + c))
	note=""
	[ "$n" -ge 1000000 ] || note=" (below 10^6)"
	printf '%-14s %10d execs (short %d + long %d)%s, %d crashes\n' "$t" "$n" "$s_n" "$l_n" "$note" "$c"
	if [ "$c" -gt 0 ]; then
		fail="$fail $t"
		for f in "$OUT/artifacts/$t"/*; do [ -f "$f" ] && echo "    reproduce: $bin $f"; done
		grep -h -m3 -E 'ERROR: |broken promise|accepted an|SUMMARY' "$OUT/logs/$t-"*.log | sed 's/^/    /'
	fi
done
echo "fuzz: $ntargets targets, $total execs, $crashes crashes (FUZZ_SECONDS=$SECS each)${fail:+; crashed:$fail}"
[ "$crashes" -eq 0 ]
