#!/usr/bin/env bash
# Integration test of glance's prechecks (variables only, no host is contacted):
# - two glance hosts on the file store are refused, and the message names the hosts, the
#   variable and the fix;
# - the same hosts pass once glance_file_store_shared says the directory is shared;
# - a missing secret is named.
# Usage: tests/integration/targets/glance_checks/runme.sh [extra ansible-playbook args]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Sets repo and playbook_bin, the collection path and plain output.
# shellcheck source=SCRIPTDIR/../lib.sh
source "${here}/../lib.sh"

cd "${here}"
run() { "${playbook_bin}" -i inventory.ini test.yml "$@" 2>&1; }

expect_failure() {
    local name="$1"
    shift
    local output
    if output="$(run "$@")"; then
        printf '%s\n' "${output}"
        echo "FAIL: ${name}: the checks passed" >&2
        exit 1
    fi
    for expected in "${expected_texts[@]}"; do
        if ! grep -qF -- "${expected}" <<<"${output}"; then
            printf '%s\n' "${output}"
            echo "FAIL: ${name}: the message does not say: ${expected}" >&2
            exit 1
        fi
    done
    echo "ok: ${name}"
}

expected_texts=("2 glance hosts (glance1, glance2" "/var/lib/glance/images" "glance_file_store_shared: true")
expect_failure "two glance hosts on an unshared file store are refused"

run -e glance_file_store_shared=true >/dev/null || {
    run -e glance_file_store_shared=true
    echo "FAIL: a shared file store on two hosts was refused" >&2
    exit 1
}
echo "ok: two glance hosts on a shared file store pass"

run --limit glance1 -e '{"glance_hosts": ["glance1"]}' >/dev/null || {
    run --limit glance1 -e '{"glance_hosts": ["glance1"]}'
    echo "FAIL: one glance host on the file store was refused" >&2
    exit 1
}
echo "ok: one glance host on the file store passes"

expected_texts=("missing secret(s) glance_service_password")
expect_failure "a missing secret is named" -e glance_file_store_shared=true -e glance_service_password=

echo "PASS: glance_checks integration test"
