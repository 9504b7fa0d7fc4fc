#!/usr/bin/env bash
# Time the LXC lab: aio from nothing, aio from the cached root fs, ha (5 hosts) from the
# cache, and destroy.   benchmarks/lab_bench.sh
#
# "From nothing" uses a new, empty cache directory (no base root fs, no .deb cache, no
# apt/pip caches), so labs that other people run on this machine keep theirs. The lab's
# host packages (lxc, debootstrap, ...) are not uninstalled. Refuses to run while an aio or
# ha lab exists. Prints one line per measurement with its target.
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
readonly REPO
readonly LAB="$REPO/tests/lab/lab.py"
readonly STATE="${NIMBUS_LAB_STATE_DIR:-/var/lib/nimbus-lab}/state.json"

[ "$(id -u)" -eq 0 ] || { echo "lab_bench: run as root" >&2; exit 1; }

running() {
    [ -f "$STATE" ] || return 0
    /usr/bin/python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["scenarios"]))' "$STATE"
}

for scenario in $(running); do
    case "$scenario" in
        aio|ha) echo "lab_bench: scenario $scenario exists; destroy it first (lab.py destroy $scenario)" >&2; exit 1 ;;
    esac
done
others="$(running)"

work="$(mktemp -d /var/tmp/nimbus-lab-bench.XXXXXX)"
export NIMBUS_LAB_CACHE_DIR="$work/cache"
cleanup() {
    "$LAB" destroy aio >/dev/null 2>&1 || true
    "$LAB" destroy ha >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

results=()
# timed LABEL TARGET_SECONDS COMMAND... : run, print the output to a log, record the time.
timed() {
    local label="$1" target="$2" start end took verdict
    shift 2
    start="$(date +%s.%N)"
    if ! "$@" >>"$work/bench.log" 2>&1; then
        echo "lab_bench: '$*' failed; its output:" >&2
        tail -n 30 "$work/bench.log" >&2
        exit 1
    fi
    end="$(date +%s.%N)"
    took="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')"
    verdict="$(awk -v t="$took" -v m="$target" 'BEGIN { print (t < m) ? "ok" : "OVER TARGET" }')"
    results+=("$(printf '%-38s %7ss   target < %ss   %s' "$label" "$took" "$target" "$verdict")")
    printf 'lab_bench: %-38s %ss\n' "$label" "$took"
}

echo "lab_bench: other scenarios running: ${others:-none}; cache for this run: $NIMBUS_LAB_CACHE_DIR"
timed "aio from nothing (empty cache)" 180 "$LAB" create aio --config-dir "$work/aio"
timed "destroy aio (1 host)" 15 "$LAB" destroy aio
timed "aio from cached root fs" 30 "$LAB" create aio --config-dir "$work/aio"
timed "aio again (nothing to do)" 5 "$LAB" create aio --config-dir "$work/aio"
timed "destroy aio (1 host)" 15 "$LAB" destroy aio
timed "ha (5 hosts) from cached root fs" 60 "$LAB" create ha --config-dir "$work/ha"
if [ -z "$others" ]; then
    timed "destroy all (5 hosts, bridges, NAT)" 15 "$LAB" destroy
else
    timed "destroy ha (5 hosts)" 15 "$LAB" destroy ha
fi

printf '\n%s\n' "Lab benchmark ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)):"
printf '  %s\n' "${results[@]}"
