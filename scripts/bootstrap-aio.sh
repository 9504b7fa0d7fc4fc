#!/usr/bin/env bash
# Try Nimbus on one machine: an all-in-one (aio) lab host and its configuration.
#
#   scripts/bootstrap-aio.sh [--force]
#
# 1. bootstrap-ansible.sh, unless the Ansible runtime is installed already;
# 2. the aio lab (tests/lab/lab.py create aio): one Debian 13 LXC system container, aio1,
#    on br-mgmt/br-vxlan/br-storage/br-vlan, reachable over SSH from this machine;
# 3. its configuration in /etc/openstack_deploy (openstack_user_config.yml, user_variables.yml
#    with the lab's facts, user_secrets.yml with generated secrets), refusing to overwrite a
#    configuration the lab did not write unless --force (or NIMBUS_AIO_FORCE=1);
# 4. prints the command that deploys the cloud.
# Idempotent: run it again and it checks each step and changes nothing.
#
# Environment:
#   NIMBUS_RUNTIME          Ansible runtime venv        (default /opt/ansible-runtime)
#   NIMBUS_AIO_CONFIG_DIR   configuration directory     (default /etc/openstack_deploy)
#   NIMBUS_AIO_FORCE        1: overwrite an existing configuration (same as --force)
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
readonly REPO
readonly RUNTIME="${NIMBUS_RUNTIME:-/opt/ansible-runtime}"
readonly CONFIG_DIR="${NIMBUS_AIO_CONFIG_DIR:-/etc/openstack_deploy}"
force="${NIMBUS_AIO_FORCE:-0}"

step="starting"
on_exit() {
    local rc=$?
    [ "$rc" -eq 0 ] || echo "bootstrap-aio: FAILED at step: ${step} (exit ${rc}); see the output above" >&2
}
trap on_exit EXIT

log() { printf 'bootstrap-aio: %s\n' "$*"; }

usage() {
    sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

parse_args() {
    step="read the arguments"
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --force) force=1 ;;
            -h|--help) usage; exit 0 ;;
            *) echo "bootstrap-aio: unknown argument '$1' (try --help)" >&2; exit 2 ;;
        esac
        shift
    done
}

check_host() {
    step="check the host"
    [ "$(id -u)" -eq 0 ] || { echo "bootstrap-aio: run as root (it creates bridges, NAT rules and containers)" >&2; exit 1; }
}

bootstrap_ansible() {
    step="bootstrap Ansible (scripts/bootstrap-ansible.sh)"
    if [ -x "$RUNTIME/bin/ansible-playbook" ]; then
        log "Ansible runtime present in $RUNTIME"
        return 0
    fi
    [ -x "$REPO/scripts/bootstrap-ansible.sh" ] ||
        { echo "bootstrap-aio: $REPO/scripts/bootstrap-ansible.sh is missing" >&2; exit 1; }
    log "installing the Ansible runtime (scripts/bootstrap-ansible.sh)"
    "$REPO/scripts/bootstrap-ansible.sh"
}

ensure_python_yaml() {
    step="install python3-yaml for the lab tool"
    /usr/bin/python3 -c 'import yaml' 2>/dev/null && return 0
    log "installing python3-yaml"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-yaml
}

create_lab() {
    step="create the aio lab and write $CONFIG_DIR (--force overwrites a configuration the lab did not write)"
    local args=(create aio --config-dir "$CONFIG_DIR")
    [ "$force" = 1 ] && args+=(--force-config)
    /usr/bin/python3 "$REPO/tests/lab/lab.py" "${args[@]}"
    step="build the project's test image (the aio uploads it: openstack_user_image)"
    "$REPO/scripts/build-test-image"
}

next_steps() {
    step="done"
    local env_prefix=""
    [ "$CONFIG_DIR" = /etc/openstack_deploy ] || env_prefix="OSA_CONFIG_DIR=$CONFIG_DIR "
    cat <<EOF

bootstrap-aio: the aio lab is ready. Deploy the cloud with:

    ${env_prefix}openstack-ansible setup-everything.yml

  lab status:   $REPO/tests/lab/lab.py status
  remove lab:   $REPO/tests/lab/lab.py destroy aio   (configuration in $CONFIG_DIR is kept)
EOF
}

main() {
    parse_args "$@"
    check_host
    bootstrap_ansible
    ensure_python_yaml
    create_lab
    next_steps
}

main "$@"
