#!/usr/bin/env bash
# Integration test for nimbus.cloud.config_template: runs against localhost.
# Usage: tests/integration/targets/config_template/runme.sh [extra ansible-playbook args]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Sets repo and playbook_bin, the collection path and plain output.
# shellcheck source=SCRIPTDIR/../lib.sh
source "${here}/../lib.sh"

workdir="$(mktemp -d)"
trap 'rm -rf -- "${workdir}"' EXIT

cd "${here}"
"${playbook_bin}" -i inventory.ini test.yml -e "config_template_workdir=${workdir}" "$@"

output="$("${playbook_bin}" -i inventory.ini diff.yml --diff \
    -e "config_template_workdir=${workdir}" "$@")"
printf '%s\n' "${output}"
for expected in '-debug = false' '+debug = true' 'changed  [DEFAULT] debug'; do
    if ! grep -qF -- "${expected}" <<<"${output}"; then
        echo "FAIL: --diff output does not show: ${expected}" >&2
        exit 1
    fi
done
echo "PASS: config_template integration test"
