#!/bin/sh
# Integration test of the service_catalog role on a deployed scenario:
#   tests/integration/roles/keystone/service_catalog.sh CONFIG_DIR [ansible-playbook args...]
# create (changed) -> again (changed=0) -> new password (changed: the login check fails and the
# password is written) -> again (changed=0) -> absent (changed) -> again (changed=0).
set -eu

CONFIG_DIR=${1:?usage: service_catalog.sh CONFIG_DIR [ansible-playbook args...]}
shift
export OSA_CONFIG_DIR="$CONFIG_DIR"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/nimbus-service-catalog.XXXXXX)
trap 'rm -rf "$work"' EXIT
umask 077

fail() { echo "service_catalog: FAILED: $*" >&2; exit 1; }
password() { printf 'service_catalog_test_password: "%s"\n' "$(head -c 24 /dev/urandom | base64 | tr -d '+/=')" > "$work/pw.yml"; }
step() {  # step NAME STATE EXPECTED(changed|unchanged) ARGS...
    name=$1 state=$2 expect=$3; shift 3
    log="$work/$name.log"
    openstack-ansible "$here/service_catalog.yml" -e service_catalog_test_state="$state" -e @"$work/pw.yml" "$@" > "$log" 2>&1 ||
        { tail -30 "$log" >&2; fail "$name: the run failed"; }
    changed=$(sed -n 's/.* changed=\([0-9]*\) .*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
    case $expect in
        changed) [ "$changed" -gt 0 ] || fail "$name: expected a change, got changed=0" ;;
        unchanged) [ "$changed" -eq 0 ] || { grep -B2 '^changed' "$log" | grep TASK >&2; fail "$name: expected changed=0, got $changed"; } ;;
    esac
    echo "service_catalog: $name ok (changed=$changed)"
}

password
step create present changed "$@"
step create-again present unchanged "$@"
password
step new-password present changed "$@"
step new-password-again present unchanged "$@"
step remove absent changed "$@"
step remove-again absent unchanged "$@"
echo "service_catalog: ok"
