#!/bin/sh
# Day-two test of keystone on a deployed scenario (e.g. the dev4 or aio lab):
#   tests/integration/roles/keystone/day_two.sh CONFIG_DIR [ansible-playbook args...]
# 1. --check --diff with a new keystone_keystone_conf_overrides option: shows the INI change,
#    changes nothing;
# 2. the same run for real with --tags keystone-config: keystone.conf changes, only
#    keystone-uwsgi restarts (no other running service's start time moves); its time is printed;
# 3. the override is taken back the same way (its diff proves the option was in keystone.conf);
# 4. a full keystone.yml run reports changed=0.
# Extra arguments (e.g. -e @vars.yml) go to every openstack-ansible run.
set -eu

CONFIG_DIR=${1:?usage: day_two.sh CONFIG_DIR [ansible-playbook args...]}
shift
export OSA_CONFIG_DIR="$CONFIG_DIR"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/nimbus-keystone-day-two.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() { echo "day_two: FAILED: $*" >&2; exit 1; }
recap_changed() { sed -n 's/.* changed=\([0-9]*\) .*/\1/p' "$1" | awk '{s += $1} END {print s + 0}'; }
recap_failed() { sed -n 's/.* failed=\([0-9]*\) .*/\1/p' "$1" | awk '{s += $1} END {print s + 0}'; }
run() {  # run LOGFILE ARGS...: openstack-ansible, output kept in LOGFILE
    log=$1; shift
    openstack-ansible "$@" > "$log" 2>&1 || { tail -40 "$log" >&2; fail "openstack-ansible $* (log $log)"; }
}
snapshot() {  # snapshot FILE ARGS...: start times of every running service into FILE
    file=$1; shift
    run "$work/snap.log" "$here/unit_starts.yml" -e unit_starts_file="$file" "$@"
}

compare() {  # compare BEFORE AFTER [UNIT...]: exactly these units restarted in between
    python3 - "$@" <<'PY'
import json
import sys


def units(path):
    out = {}
    for host, text in json.load(open(path)).items():
        cur = {}
        for block in text.strip().split("\n\n"):
            props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            if "Id" in props:
                cur[props["Id"]] = props.get("ActiveEnterTimestampMonotonic")
        out[host] = cur
    return out


before, after, expected = units(sys.argv[1]), units(sys.argv[2]), set(sys.argv[3:])
moved = sorted(
    f"{h}:{u}" for h in after for u, t in after[h].items() if before.get(h, {}).get(u) not in (None, t)
)
restarted = {m.split(":", 1)[1] for m in moved}
if restarted != expected:
    sys.exit(f"day_two: FAILED: expected restarts of {sorted(expected)}, got {moved}")
print(f"day_two: restarted {moved or 'nothing'}")
PY
}

# The option the test sets: a harmless one, different from the default.
cat > "$work/override.yml" <<'YAML'
keystone_keystone_conf_overrides:
  DEFAULT:
    max_param_size: 65
YAML

snapshot "$work/start.json" "$@"
echo "day_two: --check --diff with the override"
run "$work/check.log" keystone.yml --tags keystone-config --check --diff -e @"$work/override.yml" "$@"
grep -q '^+max_param_size = 65' "$work/check.log" || fail "--check --diff does not show the new line max_param_size = 65"
grep -q '\[DEFAULT\] max_param_size' "$work/check.log" || fail "--check --diff does not list [DEFAULT] max_param_size"

snapshot "$work/before.json" "$@"
compare "$work/start.json" "$work/before.json"
[ "$(recap_changed "$work/check.log")" -gt 0 ] || fail "--check reported no change for the new option"
echo "day_two: --tags keystone-config with the override"
start=$(date +%s.%N)
run "$work/apply.log" keystone.yml --tags keystone-config -e @"$work/override.yml" "$@"
end=$(date +%s.%N)
snapshot "$work/after.json" "$@"
[ "$(recap_failed "$work/apply.log")" -eq 0 ] || fail "the keystone-config run failed"
compare "$work/before.json" "$work/after.json" keystone-uwsgi.service
echo "day_two: keystone-config run took $(echo "$end - $start" | bc) s (changed=$(recap_changed "$work/apply.log"))"

echo "day_two: take the override back"
run "$work/revert.log" keystone.yml --tags keystone-config --diff "$@"
grep -q '^-max_param_size = 65' "$work/revert.log" || fail "keystone.conf did not hold max_param_size = 65 after the keystone-config run"

echo "day_two: full run, expecting changed=0"
start=$(date +%s.%N)
run "$work/full.log" keystone.yml "$@"
end=$(date +%s.%N)
changed=$(recap_changed "$work/full.log")
[ "$changed" -eq 0 ] || { grep -B3 '^changed' "$work/full.log" | grep TASK >&2; fail "second full run reported changed=$changed"; }
echo "day_two: full run changed=0 in $(echo "$end - $start" | bc) s"
echo "day_two: ok"
