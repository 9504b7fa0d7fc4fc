#!/usr/bin/env bash
# The role tests of tests/integration/roles/ against a deployed scenario (stage "roles" of
# scripts/run-tests.sh runs them after the gate, on the gate's aio lab):
#   tests/integration/roles/run.sh CONFIG_DIR [TEST...]
# Tests (default: all, in this order):
#   db_setup mq_setup python_venv systemd_service   converge, converge again (changed=0), verify
#                     (db_setup: also the schema stamp of schema_read/schema_record;
#                     systemd_service: also sequence.yml, a second service in a play does not
#                     take the first one's owed restart)
#   haproxy_server    the "service" entry point and keepalived failover (test_service.yml)
#   service_catalog   create/update/remove a catalog entry, each twice (keystone/service_catalog.sh)
#   keystone_day_two  a keystone.conf override restarts only keystone (day_two.sh keystone)
#   nova_day_two      a nova.conf override restarts the nova units and nothing else (day_two.sh nova)
#   neutron_day_two   an ml2_conf.ini override restarts the neutron API and its workers, a metadata
#                     agent override only the agent (day_two.sh neutron_ml2, neutron_metadata)
# Uses this checkout's openstack-ansible and collection (NIMBUS_COLLECTIONS, default .build).
# Prints one line per test with its time; any failure fails the run.
# The test_* functions are called by name (test_$t), which shellcheck cannot see.
# shellcheck disable=SC2317
set -uo pipefail

CONFIG_DIR=${1:?usage: run.sh CONFIG_DIR [TEST...]}
shift
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
ALL=(db_setup mq_setup python_venv systemd_service haproxy_server service_catalog keystone_day_two
     nova_day_two neutron_day_two)
[ -f "$CONFIG_DIR/openstack_user_config.yml" ] || { echo "run.sh: $CONFIG_DIR has no openstack_user_config.yml" >&2; exit 2; }
export OSA_CONFIG_DIR="$CONFIG_DIR"
# The collection under test is this checkout (linked as run-tests.sh links it), unless given.
if [ -z "${NIMBUS_COLLECTIONS:-}" ]; then
    mkdir -p "$REPO/.build/ansible_collections/nimbus"
    ln -sfn "$REPO" "$REPO/.build/ansible_collections/nimbus/cloud"
    NIMBUS_COLLECTIONS="$REPO/.build"
fi
export NIMBUS_COLLECTIONS
export PATH="$REPO/scripts:$PATH"
WORK=$(mktemp -d /tmp/nimbus-role-tests.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

changed_of() { sed -n 's/.* changed=\([0-9]*\) .*/\1/p' "$1" | awk '{s += $1} END {print s + 0}'; }
play() {  # play NAME PLAYBOOK: one openstack-ansible run, its output in $WORK/NAME.log
    openstack-ansible "$2" > "$WORK/$1.log" 2>&1 || { tail -30 "$WORK/$1.log" >&2; echo "run.sh: $2 failed" >&2; return 1; }
}

# converge, converge again with changed=0, verify.
converge_verify() {
    local dir="$HERE/$1"
    play "$1-converge" "$dir/converge.yml" || return 1
    play "$1-again" "$dir/converge.yml" || return 1
    local changed
    changed=$(changed_of "$WORK/$1-again.log")
    [ "$changed" -eq 0 ] || { grep -B3 '^changed' "$WORK/$1-again.log" | grep TASK >&2; echo "run.sh: second converge of $1 changed=$changed" >&2; return 1; }
    play "$1-verify" "$dir/verify.yml"
}

test_db_setup() { converge_verify db_setup; }
test_mq_setup() { converge_verify mq_setup; }
test_python_venv() { converge_verify python_venv; }
test_systemd_service() { converge_verify systemd_service && play systemd_service-sequence "$HERE/systemd_service/sequence.yml"; }
test_haproxy_server() { play haproxy_server "$HERE/haproxy_server/test_service.yml"; }
test_service_catalog() { sh "$HERE/keystone/service_catalog.sh" "$CONFIG_DIR"; }
test_keystone_day_two() { sh "$HERE/day_two.sh" keystone "$CONFIG_DIR"; }
test_nova_day_two() { sh "$HERE/day_two.sh" nova "$CONFIG_DIR"; }
test_neutron_day_two() { sh "$HERE/day_two.sh" neutron_ml2 "$CONFIG_DIR" && sh "$HERE/day_two.sh" neutron_metadata "$CONFIG_DIR"; }

tests=("$@")
[ "${#tests[@]}" -eq 0 ] && tests=("${ALL[@]}")
for t in "${tests[@]}"; do
    declare -F "test_$t" >/dev/null || { echo "run.sh: unknown test '$t'; tests: ${ALL[*]}" >&2; exit 2; }
done
rc=0 results=()
for t in "${tests[@]}"; do
    printf '\n--> role test %s\n' "$t"
    t0=$SECONDS
    if "test_$t"; then results+=("ok      $t ($((SECONDS - t0))s)")
    else results+=("FAILED  $t ($((SECONDS - t0))s)"); rc=1; fi
done
printf '\nrole tests on %s:\n' "$CONFIG_DIR"
printf '  %s\n' "${results[@]}"
exit "$rc"
