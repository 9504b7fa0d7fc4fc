#!/usr/bin/env bash
# Run roles/pki against a lab host over SSH: the real trust store, update-ca-certificates,
# modes on the host, and a second run that changes nothing.
#
#   tests/lab/lab.py create dev3
#   tests/integration/targets/pki/lab.sh [HOST ADDRESS]      (default: dev3 172.29.236.221)
#
# The CA lives in a temporary directory on this machine; the host keeps the files.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../../../.." && pwd)"
VENV="${VENV:-${ROOT}/.venv}"
BUILD="${ROOT}/.build"
HOST="${1:-dev3}"
ADDRESS="${2:-172.29.236.221}"
case "${ADDRESS}" in
  172.29.236.* | 172.29.237.* | 172.29.238.* | 172.29.239.*) ;;
  *) echo "refusing ${ADDRESS}: only lab management addresses (172.29.236.0/22)" >&2; exit 2 ;;
esac

mkdir -p "${BUILD}/ansible_collections/nimbus"
[[ -e "${BUILD}/ansible_collections/nimbus/cloud" ]] \
  || ln -sfn "${ROOT}" "${BUILD}/ansible_collections/nimbus/cloud"

TMP="$(mktemp -d /tmp/nimbus-pki-lab.XXXXXX)"
trap 'rm -rf "${TMP}"' EXIT
export ANSIBLE_COLLECTIONS_PATH="${BUILD}"
export ANSIBLE_NOCOLOR=1
export ANSIBLE_CONFIG="${TMP}/ansible.cfg"
{
  echo "[defaults]"
  # PKI_CALLBACKS=ansible.posix.profile_tasks prints where the time goes.
  [[ -n "${PKI_CALLBACKS:-}" ]] && echo "callbacks_enabled = ${PKI_CALLBACKS}"
  printf '[ssh_connection]\npipelining = True\n'
} > "${ANSIBLE_CONFIG}"

cat > "${TMP}/inventory.yml" <<INV
---
all:
  vars:
    ansible_user: root
    ansible_python_interpreter: /usr/bin/python3
    internal_lb_vip_address: 172.29.236.222
    external_lb_vip_address: 172.29.236.223
    pki_dir: ${TMP}/pki
  children:
    haproxy_all:
      hosts:
        ${HOST}:
          ansible_host: ${ADDRESS}
          management_address: ${ADDRESS}
INV

fail() { echo "FAIL: $*" >&2; exit 1; }
run() {
  local name="$1"; shift
  local start end
  start=$(date +%s.%N)
  "${VENV}/bin/ansible-playbook" -i "${TMP}/inventory.yml" "${HERE}/playbook.yml" "$@" \
    > "${TMP}/${name}.log" 2>&1 || { cat "${TMP}/${name}.log"; fail "${name} failed"; }
  end=$(date +%s.%N)
  printf '%-12s %6.2fs  %s\n' "${name}" "$(echo "${end} - ${start}" | bc)" \
    "$(grep -E "^${HOST} " "${TMP}/${name}.log" | sed -E 's/ +/ /g')"
}
on_host() { ssh -o BatchMode=yes "root@${ADDRESS}" "$@"; }

run first
grep -q "RUNNING HANDLER \[nimbus.cloud.pki : Update the system CA bundle\]" "${TMP}/first.log" \
  || echo "note: trust file unchanged, handler not run (host already trusted this CA)"
run second
grep -E "^${HOST} " "${TMP}/second.log" | grep -q "changed=0 " || fail "second run changed something"

# Verified with the host's own trust store: proves update-ca-certificates picked the CA up.
on_host openssl verify /etc/nimbus/pki/server.pem | grep -q ": OK" \
  || fail "certificate does not verify against the host's system trust store"
modes=$(on_host "stat -c '%n %a %U:%G' /etc/nimbus/pki /etc/nimbus/pki/server.key \
  /etc/nimbus/pki/server.pem /usr/local/share/ca-certificates/nimbus-ca.crt")
echo "${modes}"
grep -q "server.key 640 root:root" <<< "${modes}" || fail "key mode/owner"
grep -q "server.pem 644 root:root" <<< "${modes}" || fail "cert mode/owner"
on_host openssl x509 -noout -ext subjectAltName -in /etc/nimbus/pki/server.pem
[[ -n "${PKI_CALLBACKS:-}" ]] && sed -n '/TASKS RECAP/,$p' "${TMP}/second.log"
echo "OK: pki lab test on ${HOST} passed"
