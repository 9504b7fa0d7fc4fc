#!/bin/sh
# Day-two test of one service on a deployed scenario (e.g. the aio lab):
#   tests/integration/roles/day_two.sh CASE CONFIG_DIR [ansible-playbook args...]
# Cases (below): keystone, nova, neutron_ml2, neutron_metadata. For each:
# 1. --check --diff with a new option in one of the service's files: the diff shows the line and
#    names the key, nothing changes (no running service's start time moves);
# 2. the same run for real with --tags <service>-config: exactly the units that read that file
#    restart (no other running service of any host restarts); its time is printed;
# 3. the override is taken back the same way (its diff proves the option was in the file);
# 4. a run with the same tag (keystone: the whole playbook) reports changed=0.
# Extra arguments (e.g. -e @vars.yml) go to every openstack-ansible run.
set -eu

CASE=${1:?usage: day_two.sh CASE CONFIG_DIR [ansible-playbook args...]}
CONFIG_DIR=${2:?usage: day_two.sh CASE CONFIG_DIR [ansible-playbook args...]}
shift 2
export OSA_CONFIG_DIR="$CONFIG_DIR"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/nimbus-day-two.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() { echo "day_two $CASE: FAILED: $*" >&2; exit 1; }

# Each case: the playbook, its config tag, the override (YAML), the line the diff must show, the
# key config_template names, the units expected to restart (space-separated) and the tags of
# the final changed=0 run (empty: the whole playbook).
case "$CASE" in
    keystone)
        playbook=keystone.yml tag=keystone-config final_tags=
        override='keystone_keystone_conf_overrides: {DEFAULT: {max_param_size: 65}}'
        line='max_param_size = 65' key='[DEFAULT] max_param_size'
        units='keystone-uwsgi.service' ;;
    nova)
        # nova.conf is read by every nova unit, and by nothing else.
        playbook=nova.yml tag=nova-config final_tags=nova-config
        override='nova_nova_conf_overrides: {DEFAULT: {instance_build_timeout: 3600}}'
        line='instance_build_timeout = 3600' key='[DEFAULT] instance_build_timeout'
        units='nova-api-os-compute.service nova-api-metadata.service nova-conductor.service
               nova-scheduler.service nova-novncproxy.service nova-compute.service' ;;
    neutron_ml2)
        # ml2_conf.ini is read by the API and its workers; the metadata agent does not read it.
        playbook=neutron.yml tag=neutron-config final_tags=neutron-config
        override='neutron_ml2_conf_ini_overrides: {ovn: {neutron_sync_mode: log}}'
        line='neutron_sync_mode = log' key='[ovn] neutron_sync_mode'
        units='neutron-api.service neutron-ovn-maintenance-worker.service neutron-periodic-workers.service' ;;
    neutron_metadata)
        # neutron_ovn_metadata_agent.ini is the metadata agent's alone.
        playbook=neutron.yml tag=neutron-config final_tags=neutron-config
        override='neutron_ovn_metadata_agent_ini_overrides: {DEFAULT: {metadata_backlog: 4096}}'
        line='metadata_backlog = 4096' key='[DEFAULT] metadata_backlog'
        units='neutron-ovn-metadata-agent.service' ;;
    *) echo "day_two: unknown case '$CASE'; cases: keystone nova neutron_ml2 neutron_metadata" >&2; exit 2 ;;
esac

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
    python3 - "$CASE" "$@" <<'PY'
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


case, before, after, expected = sys.argv[1], units(sys.argv[2]), units(sys.argv[3]), set(sys.argv[4:])
moved = sorted(
    f"{h}:{u}" for h in after for u, t in after[h].items() if before.get(h, {}).get(u) not in (None, t)
)
restarted = {m.split(":", 1)[1] for m in moved}
if restarted != expected:
    sys.exit(f"day_two {case}: FAILED: expected restarts of {sorted(expected)}, got {moved}")
print(f"day_two {case}: restarted {moved or 'nothing'}")
PY
}

printf '%s\n' "$override" > "$work/override.yml"

snapshot "$work/start.json" "$@"
echo "day_two $CASE: --check --diff with the override"
run "$work/check.log" "$playbook" --tags "$tag" --check --diff -e @"$work/override.yml" "$@"
grep -qxF -- "+$line" "$work/check.log" || fail "--check --diff does not show the new line $line"
grep -qF "$key" "$work/check.log" || fail "--check --diff does not list $key"

snapshot "$work/before.json" "$@"
compare "$work/start.json" "$work/before.json"
[ "$(recap_changed "$work/check.log")" -gt 0 ] || fail "--check reported no change for the new option"
echo "day_two $CASE: --tags $tag with the override"
start=$(date +%s.%N)
run "$work/apply.log" "$playbook" --tags "$tag" -e @"$work/override.yml" "$@"
end=$(date +%s.%N)
snapshot "$work/after.json" "$@"
[ "$(recap_failed "$work/apply.log")" -eq 0 ] || fail "the $tag run failed"
# shellcheck disable=SC2086  # the unit list is split on purpose
compare "$work/before.json" "$work/after.json" $units
echo "day_two $CASE: $tag run took $(echo "$end - $start" | bc) s (changed=$(recap_changed "$work/apply.log"))"

echo "day_two $CASE: take the override back"
run "$work/revert.log" "$playbook" --tags "$tag" --diff "$@"
grep -qxF -- "-$line" "$work/revert.log" || fail "the file did not hold '$line' after the $tag run"

set -- "$playbook" ${final_tags:+--tags "$final_tags"} "$@"
echo "day_two $CASE: openstack-ansible $*, expecting changed=0"
start=$(date +%s.%N)
run "$work/full.log" "$@"
end=$(date +%s.%N)
changed=$(recap_changed "$work/full.log")
[ "$changed" -eq 0 ] || { grep -B3 '^changed' "$work/full.log" | grep TASK >&2; fail "the last run reported changed=$changed"; }
echo "day_two $CASE: changed=0 in $(echo "$end - $start" | bc) s"
echo "day_two $CASE: ok"
