#!/usr/bin/env bash
# Integration test of roles/pki against this machine (two inventory hosts, both
# ansible_connection=local, every path inside a temporary directory; the system trust
# store is not touched). Rhythm: check mode on nothing -> apply -> apply again is
# unchanged -> check mode unchanged, then names, renewal and forced rotation.
#
#   tests/integration/targets/pki/runme.sh          (from anywhere)
#   KEEP=1 ...                                      keep the temporary directory
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../../../.." && pwd)"
VENV="${VENV:-${ROOT}/.venv}"
BUILD="${ROOT}/.build"

mkdir -p "${BUILD}/ansible_collections/nimbus"
[[ -e "${BUILD}/ansible_collections/nimbus/cloud" ]] \
  || ln -sfn "${ROOT}" "${BUILD}/ansible_collections/nimbus/cloud"

TMP="$(mktemp -d /tmp/nimbus-pki-test.XXXXXX)"
cleanup() { if [[ -z "${KEEP:-}" ]]; then rm -rf "${TMP}"; else echo "kept ${TMP}"; fi; }
trap cleanup EXIT

export ANSIBLE_COLLECTIONS_PATH="${BUILD}"
export ANSIBLE_NOCOLOR=1
export ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_LOCAL_TEMP="${TMP}/ansible-local"
# Our own (empty) configuration: no ansible.cfg of the current directory or the user.
export ANSIBLE_CONFIG="${TMP}/ansible.cfg"
printf '[defaults]\n' > "${ANSIBLE_CONFIG}"

PKI="${TMP}/deploy/pki"
cat > "${TMP}/inventory.yml" <<INV
---
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    internal_lb_vip_address: 172.29.236.9
    external_lb_vip_address: cloud.example.test
    pki_dir: ${PKI}
    pki_dest_dir: ${TMP}/hosts/{{ inventory_hostname }}/etc/nimbus/pki
    pki_ca_trust_path: ${TMP}/hosts/{{ inventory_hostname }}/nimbus-ca.crt
    pki_ca_trust_update: false
    # Package installation is exercised by lab.sh on a real host; here it only costs time.
    pki_packages: []
  children:
    haproxy_all:
      hosts:
        infra1:
          management_address: 172.29.236.11
    compute_hosts:
      hosts:
        compute1:
          management_address: 172.29.236.21
INV

fail() { echo "FAIL: $*" >&2; exit 1; }
n=0
play() {
  # play NAME [ansible-playbook args...]: run, keep the log, print the recap and the time
  local name="$1"; shift
  n=$((n + 1))
  local log="${TMP}/run-${n}-${name}.log"
  local start end
  start=$(date +%s.%N)
  "${VENV}/bin/ansible-playbook" -i "${TMP}/inventory.yml" "${HERE}/playbook.yml" "$@" \
    > "${log}" 2>&1 || { cat "${log}"; fail "${name}: ansible-playbook failed"; }
  end=$(date +%s.%N)
  LAST_LOG="${log}"
  printf '%-28s %6.2fs  %s\n' "${name}" "$(echo "${end} - ${start}" | bc)" \
    "$(grep -E '^(infra1|compute1) ' "${log}" | sed -E 's/ +/ /g; s/ (unreachable|rescued|ignored)=[0-9]+//g' | tr '\n' ' ')"
}
changed() { # changed HOST: the changed= count of HOST in the last recap
  grep -E "^$1 " "${LAST_LOG}" | sed -E 's/.*changed=([0-9]+).*/\1/'
}
expect_unchanged() {
  for h in infra1 compute1; do
    [[ "$(changed "${h}")" == 0 ]] || { cat "${LAST_LOG}"; fail "$1: ${h} reported changes"; }
  done
}
serial() { openssl x509 -noout -serial -in "$1"; }
dest() { echo "${TMP}/hosts/$1/etc/nimbus/pki"; }
mode() { stat -c '%a' "$1"; }
verify_all() {
  for h in infra1 compute1; do
    openssl verify -CAfile "${PKI}/ca/ca.pem" "$(dest "${h}")/server.pem" > /dev/null \
      || fail "${h}: certificate does not verify against the CA"
    openssl verify -CAfile "$(dest "${h}")/ca.pem" "$(dest "${h}")/server.pem" > /dev/null \
      || fail "${h}: certificate does not verify against the distributed CA"
    cmp -s "$(dest "${h}")/server.key" "${PKI}/hosts/${h}.key" \
      || fail "${h}: distributed key differs from the issued one"
  done
}

# 1. Check mode on a fresh deployment: succeeds and writes nothing.
play check-fresh --check
[[ ! -e "${PKI}" ]] || fail "check mode created ${PKI}"

# 2. Apply, then apply again: nothing changes.
play apply
[[ "$(changed infra1)" -gt 0 ]] || fail "first run changed nothing"
play apply-again
expect_unchanged apply-again
play check-again --check --diff
expect_unchanged check-again
verify_all

# Modes and names.
[[ "$(mode "${PKI}")" == 700 && "$(mode "${PKI}/ca")" == 700 ]] || fail "pki dirs not 0700"
[[ "$(mode "${PKI}/ca/ca.key")" == 600 ]] || fail "CA key not 0600"
[[ "$(mode "${PKI}/hosts/infra1.key")" == 600 ]] || fail "issued key not 0600"
[[ "$(mode "$(dest infra1)/server.key")" == 640 ]] || fail "distributed key not 0640"
[[ "$(mode "$(dest infra1)/server.pem")" == 644 ]] || fail "distributed cert not 0644"
sans_infra=$(openssl x509 -noout -ext subjectAltName -in "$(dest infra1)/server.pem")
sans_compute=$(openssl x509 -noout -ext subjectAltName -in "$(dest compute1)/server.pem")
for want in "DNS:infra1" "IP Address:172.29.236.11" "IP Address:172.29.236.9" "DNS:cloud.example.test"; do
  grep -qF "${want}" <<< "${sans_infra}" || fail "infra1 certificate lacks ${want}: ${sans_infra}"
done
grep -qF "IP Address:172.29.236.21" <<< "${sans_compute}" || fail "compute1 lacks its address"
grep -qF "172.29.236.9" <<< "${sans_compute}" && fail "compute1 (not in haproxy_all) has the VIP"
openssl x509 -noout -subject -in "$(dest infra1)/server.pem" | grep -q "CN *= *infra1" \
  || fail "infra1 certificate subject is not CN=infra1"
cmp -s "$(dest infra1)/server-chain.pem" <(cat "$(dest infra1)/server.pem" "${PKI}/ca/ca.pem") \
  || fail "chain file is not certificate + CA"
cmp -s "${TMP}/hosts/infra1/nimbus-ca.crt" "${PKI}/ca/ca.pem" || fail "CA not installed for trust"

# 3. A changed name re-issues that host's certificate only.
ca_serial=$(serial "${PKI}/ca/ca.pem")
infra_serial=$(serial "$(dest infra1)/server.pem")
compute_serial=$(serial "$(dest compute1)/server.pem")
play extra-name -e '{"pki_extra_sans": ["extra.example.test"]}' --limit compute1
[[ "$(serial "$(dest compute1)/server.pem")" != "${compute_serial}" ]] || fail "new name did not re-issue"
openssl x509 -noout -ext subjectAltName -in "$(dest compute1)/server.pem" | grep -qF DNS:extra.example.test \
  || fail "new name missing"
[[ "$(serial "$(dest infra1)/server.pem")" == "${infra_serial}" ]] || fail "infra1 touched"
play extra-name-again -e '{"pki_extra_sans": ["extra.example.test"]}' --limit compute1
[[ "$(changed compute1)" == 0 ]] || fail "extra-name-again: changes"
play names-back
[[ "$(changed infra1)" == 0 ]] || fail "names-back: infra1 changed"

# 4. Renewal: certificates expiring within pki_renew_days are re-issued, once.
play renew -e pki_cert_valid_days=800 -e pki_renew_days=750
[[ "$(serial "$(dest infra1)/server.pem")" != "${infra_serial}" ]] || fail "renewal did not re-issue"
play renew-again -e pki_cert_valid_days=800 -e pki_renew_days=750
expect_unchanged renew-again

# 5. Forced rotation of host certificates keeps the CA.
infra_key=$(sha256sum < "$(dest infra1)/server.key")
play regen-certs -e pki_regen_certs=true
[[ "$(sha256sum < "$(dest infra1)/server.key")" != "${infra_key}" ]] || fail "regen_certs kept the key"
[[ "$(serial "${PKI}/ca/ca.pem")" == "${ca_serial}" ]] || fail "regen_certs changed the CA"

# 6. CA renewal: same key and name, new validity; everything still verifies.
ca_key=$(sha256sum < "${PKI}/ca/ca.key")
play ca-renew -e pki_ca_valid_days=4000 -e pki_ca_renew_days=3660
[[ "$(serial "${PKI}/ca/ca.pem")" != "${ca_serial}" ]] || fail "CA renewal did not re-issue the CA"
[[ "$(sha256sum < "${PKI}/ca/ca.key")" == "${ca_key}" ]] || fail "CA renewal changed the CA key"
verify_all
play ca-renew-again -e pki_ca_valid_days=4000 -e pki_ca_renew_days=3660
expect_unchanged ca-renew-again
ca_serial=$(serial "${PKI}/ca/ca.pem")

# 7. Forced rotation of the CA re-issues everything from the new CA.
play regen-ca -e pki_regen_ca=true
[[ "$(serial "${PKI}/ca/ca.pem")" != "${ca_serial}" ]] || fail "regen_ca kept the CA"
verify_all
play after-rotation
expect_unchanged after-rotation

# 8. No private key material in any log.
for key in "${PKI}/ca/ca.key" "${PKI}"/hosts/*.key; do
  while read -r line; do
    [[ "${line}" == -----* ]] && continue
    if grep -qF -- "${line}" "${TMP}"/run-*.log; then fail "key material of ${key} in a log"; fi
  done < "${key}"
done

# 9. Bad input stops the run with a message naming the variable.
if "${VENV}/bin/ansible-playbook" -i "${TMP}/inventory.yml" "${HERE}/playbook.yml" \
     -e pki_renew_days=900 > "${TMP}/bad.log" 2>&1; then
  fail "pki_renew_days > pki_cert_valid_days was accepted"
fi
grep -q "pki_renew_days (900) must be" "${TMP}/bad.log" || { cat "${TMP}/bad.log"; fail "bad message"; }

echo "OK: pki integration test passed"
