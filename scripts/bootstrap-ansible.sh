#!/usr/bin/env bash
# Prepare a Debian 12/13 deployment host to run Nimbus:
#   OS packages -> Ansible runtime venv (pinned) -> nimbus.cloud collection -> commands on PATH.
# Idempotent: a second run checks each step, changes nothing and says so.
#
# Environment:
#   NIMBUS_RUNTIME      runtime virtualenv            (default /opt/ansible-runtime)
#   NIMBUS_BIN_DIR      where commands are installed  (default /usr/local/bin)
#   NIMBUS_COLLECTIONS  collections root holding ansible_collections/nimbus/cloud
#                       (default /usr/share/ansible/collections, on Ansible's default path)
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
readonly REPO
readonly RUNTIME="${NIMBUS_RUNTIME:-/opt/ansible-runtime}"
readonly BIN_DIR="${NIMBUS_BIN_DIR:-/usr/local/bin}"
readonly COLLECTIONS="${NIMBUS_COLLECTIONS:-/usr/share/ansible/collections}"
readonly PYTHON=/usr/bin/python3
readonly OS_PACKAGES=(python3 python3-venv python-is-python3 git openssh-client rsync ca-certificates)

step="starting"
changes=()
on_exit() {
    local rc=$?
    [ "$rc" -eq 0 ] || echo "bootstrap-ansible: FAILED at step: ${step} (exit ${rc}); see the output above" >&2
}
trap on_exit EXIT

log() { printf 'bootstrap-ansible: %s\n' "$*"; }

check_host() {
    step="check the host"
    [ "$(id -u)" -eq 0 ] || { echo "bootstrap-ansible: run as root (it installs packages and /opt)" >&2; exit 1; }
    # shellcheck disable=SC1091
    . /etc/os-release
    case "${ID}:${VERSION_ID:-}" in
        debian:12|debian:13) ;;
        *) echo "bootstrap-ansible: ${PRETTY_NAME:-unknown OS} is not supported; use Debian 12 or 13" >&2; exit 1 ;;
    esac
}

install_os_packages() {
    step="install OS packages"
    local missing=() pkg
    for pkg in "${OS_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "installing OS packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    changes+=("OS packages: ${missing[*]}")
}

# The venv is rebuilt only when the interpreter, requirements or constraints change:
# their digest is kept in the venv and compared on every run.
runtime_digest() {
    { "$PYTHON" -c 'import sys; print(sys.version)'; cat "$REPO/requirements/runtime.txt" "$REPO/requirements/constraints.txt"; } |
        sha256sum | cut -d' ' -f1
}

install_runtime() {
    step="create the Ansible runtime in ${RUNTIME}"
    local want stamp="$RUNTIME/.nimbus-requirements.sha256"
    want="$(runtime_digest)"
    if [ -x "$RUNTIME/bin/ansible-playbook" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    [ -x "$RUNTIME/bin/python" ] || "$PYTHON" -m venv "$RUNTIME"
    step="install pinned Python packages into ${RUNTIME}"
    # Trust the system CA bundle: deployment hosts often sit behind TLS-intercepting proxies.
    local cert=()
    [ -r /etc/ssl/certs/ca-certificates.crt ] && cert=(--cert /etc/ssl/certs/ca-certificates.crt)
    "$RUNTIME/bin/pip" install -q "${cert[@]}" --disable-pip-version-check \
        -r "$REPO/requirements/runtime.txt" -c "$REPO/requirements/constraints.txt"
    echo "$want" > "$stamp"
    changes+=("runtime venv ${RUNTIME}")
}

# Symlink (not copy) the checkout: the operator's checkout is the collection, as with OSA.
install_collection() {
    step="install this checkout as the nimbus.cloud collection"
    local link="$COLLECTIONS/ansible_collections/nimbus/cloud"
    [ "$(readlink "$link" 2>/dev/null)" = "$REPO" ] && return 0
    mkdir -p "$(dirname "$link")"
    ln -sfn "$REPO" "$link"
    changes+=("collection link ${link} -> ${REPO}")
}

# write_if_changed PATH MODE CONTENT
write_if_changed() {
    local path="$1" mode="$2" content="$3"
    if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ] && [ "$(stat -c %a "$path")" = "$mode" ]; then
        return 0
    fi
    local tmp
    tmp="$(mktemp "${path}.XXXXXX")"
    printf '%s\n' "$content" > "$tmp"
    chmod "$mode" "$tmp"
    mv -f "$tmp" "$path"
    changes+=("$path")
}

install_commands() {
    step="put the Nimbus commands on PATH (${BIN_DIR})"
    mkdir -p "$BIN_DIR"
    local header="#!/bin/sh
# Installed by ${REPO}/scripts/bootstrap-ansible.sh; re-run it to update.
export NIMBUS_RUNTIME='${RUNTIME}' NIMBUS_COLLECTIONS='${COLLECTIONS}'"
    write_if_changed "$BIN_DIR/openstack-ansible" 755 "${header}
exec '${REPO}/scripts/openstack-ansible' \"\$@\""
    write_if_changed "$BIN_DIR/openstack-ansible-inventory" 755 "${header}
exec '${RUNTIME}/bin/python' '${REPO}/scripts/openstack-ansible-inventory' \"\$@\""
    write_if_changed "$BIN_DIR/pw-token-gen" 755 "${header}
exec '${RUNTIME}/bin/python' '${REPO}/scripts/pw-token-gen.py' \"\$@\""
}

main() {
    check_host
    install_os_packages
    install_runtime
    install_collection
    install_commands
    step="done"
    if [ "${#changes[@]}" -eq 0 ]; then
        log "nothing to change: runtime ${RUNTIME}, collection nimbus.cloud -> ${REPO}"
    else
        log "changed:"
        printf '  - %s\n' "${changes[@]}"
    fi
    log "ready: $("$RUNTIME/bin/ansible-playbook" --version | head -n1); run 'openstack-ansible setup-everything.yml'"
}

main "$@"
