#!/usr/bin/env bash
# The one test command: scripts/run-tests.sh [STAGE...]
#
# Stages (default: all, in this order):
#   lint       ruff, yamllint, ansible-lint (production profile)
#   sanity     ansible-test sanity for the pinned ansible-core
#   unit       pytest unit tests
#   bootstrap  scripts/bootstrap-ansible.sh twice, the openstack-ansible wrapper, ansible-doc
#   integration  plugin/role targets run against localhost; the test image built and booted
#   lab        the LXC lab: create, reach, destroy, machine left as it was
#   gate       scripts/gate-check.sh aio (deploy, healthchecks, second pass changed=0), Horizon
#              in headless Chromium (screenshots in the gate's run directory), then
#              proof that the gate fails on a stopped service and on a second-pass change, a
#              restart owed by a killed run paid by the next, the role scenarios' testinfra
#              suites over the aio inventory (stage_testinfra), bad variables stopped
#   roles      tests/integration/roles/run.sh on the lab the gate left (db_setup, mq_setup,
#              python_venv, systemd_service, haproxy_server, service_catalog, the Keystone,
#              Nova and Neutron day-two pushes); NIMBUS_ROLES_TESTS="a b" runs some (.ci/run
#              leaves out the Nova and Neutron pushes), NIMBUS_ROLES_CONFIG_DIR another
#              deployed scenario (default the gate's /etc/nimbus-lab/aio)
#   ha         last: the ha-core lab (three infrastructure
#              hosts: Galera, RabbitMQ, memcached, HAProxy + keepalived, Keystone, OVN RAFT):
#              scripts/gate-check.sh ha-core (deploy, healthchecks, second pass changed=0), then
#              the fault tests of tests/integration/test_ha.py; the gate's aio lab is destroyed
#              first, ha-core after a passing run (a failed one stays)
#   molecule   the Molecule role scenarios of extensions/molecule/ (converge, idempotence, bad
#              variables refused, testinfra verify) on a lab host of their own, created once
#              and destroyed at the end; one line per scenario with its time (runs after
#              lab, before gate). `molecule ROLE...` (or NIMBUS_MOLECULE_SCENARIOS="a b") runs
#              some (default: all), NIMBUS_MOLECULE_LAB another lab scenario (default
#              molecule; e.g. dev3), NIMBUS_MOLECULE_KEEP=1 keeps the lab host for the next run
#   testinfra  (not in the default run: the gate calls it) the role scenarios' testinfra suites
#              over a deployed lab's inventory, NIMBUS_TESTINFRA_CONFIG_DIR (default
#              /etc/nimbus-lab/aio); NIMBUS_TESTINFRA_SUITES="a b" runs some
#
# Usage: scripts/run-tests.sh [STAGE...] [molecule [SCENARIO...]] [STAGE...]
#   e.g. scripts/run-tests.sh lint unit molecule galera_server rabbitmq_server
# NIMBUS_RUN_TESTS_PLAN=1 prints the stages and scenarios that would run, and stops.
# Any failing stage fails the run; a summary line per stage is printed at the end.
set -uo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
readonly REPO
readonly VENV="${NIMBUS_TEST_VENV:-$REPO/.venv}"
readonly PY=/usr/bin/python3
ALL_STAGES=(lint sanity unit bootstrap integration lab molecule gate roles ha)
# Without arguments every stage runs, ha last (README, Testing: how the whole run fits in CI's
# 90 minutes on this 2-core machine).
DEFAULT_STAGES=(lint sanity unit bootstrap integration lab molecule gate roles ha)

cd "$REPO" || exit 1
export PIP_DISABLE_PIP_VERSION_CHECK=1
[ -r /etc/ssl/certs/ca-certificates.crt ] && export PIP_CERT=/etc/ssl/certs/ca-certificates.crt

say() { printf '\n==> %s\n' "$*"; }

# The test venv holds the runtime requirements plus the linters, all pinned by constraints.
ensure_venv() {
    local want stamp="$VENV/.nimbus-requirements.sha256"
    want="$({ "$PY" -c 'import sys; print(sys.version)'; cat requirements/*.txt; } | sha256sum | cut -d' ' -f1)"
    if [ -x "$VENV/bin/pytest" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
    say "building the test venv $VENV"
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV" || return 1
    "$VENV/bin/pip" install -q -r requirements/test.txt -c requirements/constraints.txt || return 1
    echo "$want" > "$stamp"
}

# ensure_packages PKG... : install the Debian packages that are missing.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# OS tools the checks call: shellcheck (ansible-test sanity skips its shell check without it);
# qemu-system-x86, qemu-utils and xorriso boot the test image (tests/integration/test_test_image.py).
ensure_os_tools() {
    ensure_packages shellcheck python3-venv qemu-system-x86 qemu-utils xorriso openssh-client
}

# What the lab and gate stages need beyond what tests/lab/lab.py installs itself: root (LXC),
# and iptables for the lab test's before/after snapshot of the NAT table. Missing, the tests
# would be skipped, which fails under CI=true (tests/conftest.py): say so here first.
ensure_lab_prerequisites() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "run-tests: stage $1 needs root (it drives LXC lab hosts); run it as root" >&2
        return 1
    fi
    ensure_packages iptables || { echo "run-tests: could not install iptables with apt" >&2; return 1; }
}

# What the browser test needs (tests/integration/test_horizon_browser.py): Debian's headless
# Chromium and its WebDriver (Selenium, from the test venv, drives them; nothing is downloaded
# from outside the registries), and certutil, which puts the deployment CA in the browser's
# own certificate store for the test.
ensure_browser_prerequisites() {
    ensure_packages chromium chromium-driver libnss3-tools || {
        echo "run-tests: could not install chromium, chromium-driver and libnss3-tools with apt" >&2
        return 1
    }
}

# The checkout as ansible_collections/nimbus/cloud, for tools that need that layout.
collection_link() {
    mkdir -p .build/ansible_collections/nimbus
    ln -sfn "$REPO" .build/ansible_collections/nimbus/cloud
}

stage_lint() {
    "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check . &&
        "$VENV/bin/yamllint" -s . &&
        ANSIBLE_COLLECTIONS_PATH="$REPO/.build" "$VENV/bin/ansible-lint" --profile production
}

# ansible-test wants a real (not symlinked) ansible_collections/nimbus/cloud tree, outside
# this git checkout (inside it, ansible-test would list files with git and see none).
stage_sanity() {
    local top="${TMPDIR:-/tmp}/nimbus-sanity"
    local tree="$top/ansible_collections/nimbus/cloud"
    rm -rf "$top" && mkdir -p "$tree" || return 1
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf - | tar -xf - -C "$tree" || return 1
    # ansible-test's --venv mode fetches pip from a host outside the package registries, so
    # the sanity tools go into a venv of their own (not .venv: their pins differ).
    local sv="$REPO/.build/sanity-venv"
    if [ ! -x "$sv/bin/ansible-test" ]; then
        "$PY" -m venv "$sv" &&
            "$sv/bin/pip" install -q ansible-core -c requirements/constraints.txt || return 1
    fi
    # Its per-test venvs bootstrap pip with a script it downloads from outside the registries;
    # give it our stand-in (tests/sanity/pip_bootstrap.py) under the name it looks for.
    local pip_version
    pip_version="$(grep -ho "pip='[0-9.]*'" "$sv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n1 | tr -dc '0-9.')"
    mkdir -p ~/.ansible/test/cache
    install -m 0644 tests/sanity/pip_bootstrap.py ~/.ansible/test/cache/get_pip_"${pip_version//./_}".py
    (cd "$tree" && "$sv/bin/ansible-test" sanity --local --python 3.11 --requirements --color no)
}

stage_unit() {
    "$VENV/bin/pytest" -q tests/unit
}

stage_bootstrap() {
    "$VENV/bin/pytest" -q tests/integration/test_bootstrap.py
}

stage_integration() {
    local t rc=0
    collection_link
    for t in tests/integration/targets/*/runme.sh; do
        [ -e "$t" ] || continue
        say "integration target $(basename "$(dirname "$t")")"
        bash "$t" || rc=1
    done
    say "the test image: build it, boot it with qemu, log in over SSH"
    "$VENV/bin/pytest" -q -rs tests/integration/test_test_image.py || rc=1
    return "$rc"
}

# The lab test creates and destroys its own aio lab: an aio left by an earlier gate run goes
# first (the test refuses to touch an existing one, and would only be skipped).
stage_lab() {
    ensure_lab_prerequisites lab &&
        /usr/bin/python3 tests/lab/lab.py destroy aio &&
        "$VENV/bin/pytest" -q -rs tests/integration/test_lab.py
}

# The gate (test_gate.py, which also drives Horizon in a browser after the healthchecks:
# tests/integration/test_horizon_browser.py), then on the lab it leaves: a restart owed by a
# killed run is paid by the next (test_restarts.py), and bad variables stop
# setup-everything.yml before any change while a configuration MariaDB or memcached refuses
# never replaces the running one (test_variable_checks.py).
stage_gate() {
    ensure_lab_prerequisites gate && ensure_browser_prerequisites &&
        "$VENV/bin/pytest" -q -s tests/integration/test_gate.py tests/integration/test_restarts.py &&
        NIMBUS_TESTINFRA_CONFIG_DIR=/etc/nimbus-lab/aio stage_testinfra &&
        NIMBUS_TEST_VARIABLE_CHECKS=1 OSA_CONFIG_DIR=/etc/nimbus-lab/aio \
            "$VENV/bin/pytest" -q tests/integration/test_variable_checks.py
}

# The testinfra suites of the roles a deployment runs (extensions/molecule/<role>/tests/, the
# modules the role scenarios verify with), run over a deployed lab's inventory: each module
# names its inventory group (testinfra_hosts), so a check runs on every host of that group.
# The systemd_service suite checks its scenario's test unit: it runs in its scenario only.
readonly DEPLOYMENT_SUITES=(openstack_hosts pki haproxy_server memcached_server galera_server rabbitmq_server repo_server utility keystone placement glance nova ovn neutron horizon)

# Not a stage of its own in a full run (the gate stage calls it); alone:
#   NIMBUS_TESTINFRA_CONFIG_DIR=/etc/nimbus-lab/molecule NIMBUS_TESTINFRA_SUITES="galera_server" \
#       scripts/run-tests.sh testinfra
stage_testinfra() {
    local config_dir="${NIMBUS_TESTINFRA_CONFIG_DIR:-/etc/nimbus-lab/aio}" suites=() paths=() s
    read -ra suites <<< "${NIMBUS_TESTINFRA_SUITES:-${DEPLOYMENT_SUITES[*]}}"
    for s in "${suites[@]}"; do
        if [ ! -d "extensions/molecule/$s/tests" ]; then
            echo "run-tests: no testinfra suite extensions/molecule/$s/tests (NIMBUS_TESTINFRA_SUITES); suites: ${DEPLOYMENT_SUITES[*]}" >&2
            return 1
        fi
        paths+=("extensions/molecule/$s/tests")
    done
    [ -f "$config_dir/openstack_user_config.yml" ] || {
        echo "run-tests: $config_dir has no openstack_user_config.yml (NIMBUS_TESTINFRA_CONFIG_DIR: a deployed lab's configuration directory)" >&2
        return 1
    }
    say "testinfra suites ${suites[*]} over the inventory of $config_dir"
    OSA_CONFIG_DIR="$config_dir" ANSIBLE_CONFIG="$REPO/scripts/openstack-ansible.cfg" \
        ANSIBLE_COLLECTIONS_PATH="$REPO/.build" \
        "$VENV/bin/pytest" -q -p no:cacheprovider --connection=ansible \
        --ansible-inventory="$REPO/inventory/openstack_deploy.yml" "${paths[@]}"
}

# After the gate: its aio lab is deployed and kept, so the role tests reuse it.
# NIMBUS_ROLES_TESTS (space-separated) runs only some of them (.ci/run leaves out the Nova and
# Neutron day-two pushes, about 8 minutes, to stay well under its 90; README, Testing).
stage_roles() {
    local tests=()
    read -ra tests <<< "${NIMBUS_ROLES_TESTS:-}"
    bash tests/integration/roles/run.sh "${NIMBUS_ROLES_CONFIG_DIR:-/etc/nimbus-lab/aio}" "${tests[@]}"
}

# The multi-host stage, last: the ha-core scenario (tests/lab/scenarios/ha-core.yml), the
# control plane of ha. After the roles stage, which is the last user of the gate's
# aio lab: that lab goes first, so ha-core has the machine to itself. A failed run keeps the
# ha-core lab for inspection (gate-check.sh collects every host's logs); the next run starts
# from a new one.
readonly HA_SCENARIO=ha-core HA_HOSTS=core1,core2,core3
stage_ha() {
    ensure_lab_prerequisites ha || return 1
    /usr/bin/python3 tests/lab/lab.py destroy aio &&
        /usr/bin/python3 tests/lab/lab.py destroy "$HA_SCENARIO" || return 1
    local t0=$SECONDS
    # bootstrap too: run by name on a fresh checkout, nothing else has installed the collection.
    scripts/gate-check.sh "$HA_SCENARIO" --steps bootstrap,lab,deploy,healthcheck,idempotency || return 1
    # The suites of the roles whose state differs with three hosts (one VIP holder, the Galera
    # and RabbitMQ clusters, Keystone's keys and timer on the first host, the OVN databases' RAFT
    # clusters; ha-core has no chassis, so the ovn suite skips its chassis checks), on the healthy
    # deployment, before the fault tests change it; the host-level suites (openstack_hosts,
    # pki, memcached_server) check the same things as on aio. NIMBUS_HA_TESTINFRA_SUITES: others.
    NIMBUS_TESTINFRA_CONFIG_DIR="/etc/nimbus-lab/$HA_SCENARIO" \
        NIMBUS_TESTINFRA_SUITES="${NIMBUS_HA_TESTINFRA_SUITES:-haproxy_server galera_server rabbitmq_server keystone ovn}" \
        stage_testinfra || return 1
    say "the ha fault tests (tests/integration/test_ha.py) on $HA_SCENARIO, deployed in $((SECONDS - t0))s"
    # The OVN protocol change (about 5 minutes) runs only when asked (NIMBUS_TEST_OVN_PROTOCOL=1):
    # deselected, not skipped, so that CI's guard against skips does not count it.
    local deselect=()
    [ "${NIMBUS_TEST_OVN_PROTOCOL:-0}" = 1 ] ||
        deselect=(--deselect tests/integration/test_ha.py::test_ovn_clusters_change_protocol_and_keep_their_data)
    NIMBUS_TEST_HA=1 NIMBUS_HA_CONFIG_DIR="/etc/nimbus-lab/$HA_SCENARIO" NIMBUS_HA_INFRA_HOSTS="$HA_HOSTS" \
        "$VENV/bin/pytest" -q -s -rs --durations=0 -p no:cacheprovider "${deselect[@]}" \
        tests/integration/test_ha.py || return 1
    /usr/bin/python3 tests/lab/lab.py destroy "$HA_SCENARIO"
}

# The role scenarios of extensions/molecule/ (every directory with a molecule.yml except the
# shared "default", which only creates and destroys the lab host), space-separated.
molecule_scenarios() {
    local f names=()
    for f in extensions/molecule/*/molecule.yml; do
        f="$(basename "$(dirname "$f")")"
        [ "$f" = default ] || names+=("$f")
    done
    echo "${names[*]}"
}

is_molecule_scenario() {
    [ "$1" != default ] && [ -f "extensions/molecule/$1/molecule.yml" ]
}

# Scenarios named on the command line after "molecule" (scripts/run-tests.sh molecule ROLE...).
MOLECULE_SCENARIOS=()

# The Molecule scenarios share one lab host (shared_state, extensions/molecule/config.yml):
# the "default" scenario creates it, each scenario runs its test sequence on it, and the
# "default" scenario destroys it at the end.
stage_molecule() {
    ensure_lab_prerequisites molecule || return 1
    local s rc=0 t0 scenarios=() results=()
    if [ "${#MOLECULE_SCENARIOS[@]}" -gt 0 ]; then
        scenarios=("${MOLECULE_SCENARIOS[@]}")
    elif [ -n "${NIMBUS_MOLECULE_SCENARIOS:-}" ]; then
        read -ra scenarios <<< "$NIMBUS_MOLECULE_SCENARIOS"
    else
        read -ra scenarios <<< "$(molecule_scenarios)"
    fi
    for s in "${scenarios[@]}"; do
        is_molecule_scenario "$s" || {
            echo "run-tests: no Molecule scenario '$s' (extensions/molecule/$s/molecule.yml); scenarios: $(molecule_scenarios)" >&2
            return 1
        }
    done
    t0=$SECONDS
    if molecule create -s default; then results+=("ok      create the lab host ($((SECONDS - t0))s)")
    else echo "run-tests: molecule could not create the lab host" >&2; return 1; fi
    local passed=()
    for s in "${scenarios[@]}"; do
        say "molecule scenario $s"
        t0=$SECONDS
        if molecule test -s "$s" --destroy never; then results+=("ok      $s ($((SECONDS - t0))s)"); passed+=("$s")
        else
            results+=("FAILED  $s ($((SECONDS - t0))s)"); rc=1
            # A failed step skips the rest of the sequence, cleanup too: a scenario that
            # changed the lab's configuration (swift's conf.d file) takes it back for the next.
            molecule cleanup -s "$s" || results+=("FAILED  $s cleanup"); fi
    done
    # On the host the passed scenarios left: a role broken by hand fails its scenario's verify
    # and the gate's testinfra run (tests/integration/test_molecule_breakage.py has a case for
    # some roles; pytest exits 5 when none of the passed scenarios has one).
    if [ "${#passed[@]}" -gt 0 ]; then
        local expr
        expr="$(printf ' or %s' "${passed[@]}")"
        say "a role broken on the host fails its scenario and the gate"
        t0=$SECONDS
        NIMBUS_TEST_MOLECULE_BREAKAGE=1 NIMBUS_MOLECULE_LAB="${NIMBUS_MOLECULE_LAB:-molecule}" \
            "$VENV/bin/pytest" -q -p no:cacheprovider -k "${expr# or }" tests/integration/test_molecule_breakage.py
        case $? in
            0) results+=("ok      broken roles caught ($((SECONDS - t0))s)") ;;
            5) ;;
            *) results+=("FAILED  broken roles caught ($((SECONDS - t0))s)"); rc=1 ;;
        esac
    fi
    if [ "${NIMBUS_MOLECULE_KEEP:-0}" != 1 ]; then
        t0=$SECONDS
        if molecule destroy -s default; then results+=("ok      destroy the lab host ($((SECONDS - t0))s)")
        else results+=("FAILED  destroy the lab host ($((SECONDS - t0))s)"); rc=1; fi
    fi
    printf '\nmolecule scenarios:\n'
    printf '  %s\n' "${results[@]}"
    return "$rc"
}

main() {
    local stages=() s rc=0 results=() last=""
    # Arguments are stages; the words after "molecule" that are not stages are its scenarios.
    for s in "$@"; do
        if declare -F "stage_$s" >/dev/null; then
            stages+=("$s")
            last="$s"
        elif [ "$last" = molecule ] && is_molecule_scenario "$s"; then
            MOLECULE_SCENARIOS+=("$s")
        elif [ "$last" = molecule ]; then
            echo "unknown stage or Molecule scenario '$s'; stages: ${ALL_STAGES[*]}; scenarios: $(molecule_scenarios)" >&2
            exit 2
        else
            echo "unknown stage '$s'; stages: ${ALL_STAGES[*]}" >&2
            exit 2
        fi
    done
    [ "${#stages[@]}" -eq 0 ] && stages=("${DEFAULT_STAGES[@]}")
    # NIMBUS_RUN_TESTS_PLAN=1: print what would run and stop (nothing is installed or run).
    if [ "${NIMBUS_RUN_TESTS_PLAN:-0}" = 1 ]; then
        echo "stages: ${stages[*]}"
        echo "molecule scenarios: ${MOLECULE_SCENARIOS[*]:-${NIMBUS_MOLECULE_SCENARIOS:-$(molecule_scenarios)}}"
        echo "role tests: ${NIMBUS_ROLES_TESTS:-all}"
        exit 0
    fi
    ensure_os_tools || { echo "run-tests: could not install the OS tools (shellcheck, python3-venv, qemu-system-x86, ...) with apt" >&2; exit 1; }
    ensure_venv || { echo "run-tests: could not build the test venv" >&2; exit 1; }
    collection_link
    export PATH="$VENV/bin:$PATH"
    # Each stage's start and end go to a file as they happen, so a run that is killed (CI's time
    # limit) still tells which stage it was in and how long the others took.
    local log="${NIMBUS_RUN_TESTS_LOG:-/var/log/nimbus-gate/run-tests-$(date -u +%Y%m%dT%H%M%SZ).tsv}"
    mkdir -p "$(dirname "$log")" && printf 'stage\tstatus\tseconds\tat\n' > "$log" || log=/dev/null
    say "stage times: $log"
    for s in "${stages[@]}"; do
        say "stage $s"
        local t0=$SECONDS status=ok
        printf '%s\tstarted\t\t%s\n' "$s" "$(date -u +%FT%TZ)" >> "$log"
        "stage_$s" || { status=FAILED; rc=1; }
        printf '%s\t%s\t%s\t%s\n' "$s" "$status" "$((SECONDS - t0))" "$(date -u +%FT%TZ)" >> "$log"
        results+=("$(printf '%-7s %s (%ss)' "$status" "$s" "$((SECONDS - t0))")")
    done
    say "summary"
    printf '  %s\n' "${results[@]}"
    return "$rc"
}

main "$@"
