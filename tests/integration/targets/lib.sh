# shellcheck shell=bash
# Shared preamble of the runme.sh of the targets that run ansible-playbook against localhost.
# Source it after setting `here` to the target's directory:
#   here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
#   source "${here}/../lib.sh"
# It sets `repo` (the checkout) and `playbook_bin` (ANSIBLE_PLAYBOOK, default the checkout's
# .venv), loads the collection from <repo>/.build/ansible_collections/nimbus/cloud -> <repo>
# unless ANSIBLE_COLLECTIONS_PATH is set, and makes the output plain.

repo="$(cd "${here:?set here before sourcing lib.sh}/../../../.." && pwd)"
# shellcheck disable=SC2034  # used by the runme.sh that sources this file
playbook_bin="${ANSIBLE_PLAYBOOK:-${repo}/.venv/bin/ansible-playbook}"

if [[ -z "${ANSIBLE_COLLECTIONS_PATH:-}" ]]; then
    mkdir -p "${repo}/.build/ansible_collections/nimbus"
    [[ -e "${repo}/.build/ansible_collections/nimbus/cloud" ]] ||
        ln -s "${repo}" "${repo}/.build/ansible_collections/nimbus/cloud"
    export ANSIBLE_COLLECTIONS_PATH="${repo}/.build"
fi
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_STDOUT_CALLBACK=default
