#!/usr/bin/env bash
# gate-check.sh SCENARIO [--steps LIST] [--playbooks LIST] [--destroy]
#
# Deploys a lab scenario end to end and answers "does the whole thing work?":
#   bootstrap    scripts/bootstrap-ansible.sh
#   lab          tests/lab/lab.py create SCENARIO (config in /etc/nimbus-lab/SCENARIO)
#   deploy       setup-hosts.yml, setup-infrastructure.yml, setup-openstack.yml
#   healthcheck  healthcheck-hosts.yml, healthcheck-infrastructure.yml, healthcheck-openstack.yml
#   tempest      os-tempest.yml (the scenario's test set); any failed test, or none passed, fails
#   idempotency  the three setup playbooks again; every host must report changed=0
# then prints a summary table and writes the same as JSON (report.json in the run directory).
# On failure it collects every lab host's logs and journal into one archive and names it.
# The lab stays up for inspection unless --destroy is given.
#
# --steps a,b,...  run only these steps (in the order above), e.g. --steps healthcheck
# --playbooks a.yml,...  the deploy, healthcheck and idempotency steps run these playbooks
#                  instead of their own three, e.g. --steps idempotency --playbooks memcached.yml
# Environment: NIMBUS_GATE_DIR (default /var/log/nimbus-gate), NIMBUS_GATE_TIMEOUT_<STEP>
# (seconds per playbook/command of that step, e.g. NIMBUS_GATE_TIMEOUT_DEPLOY=2400),
# NIMBUS_COLLECTIONS (the collection the playbooks come from, as for openstack-ansible).
set -uo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
readonly REPO
readonly ALL_STEPS=(bootstrap lab deploy healthcheck tempest idempotency)
readonly SETUP_PLAYBOOKS=(setup-hosts.yml setup-infrastructure.yml setup-openstack.yml)
readonly HEALTH_PLAYBOOKS=(healthcheck-hosts.yml healthcheck-infrastructure.yml healthcheck-openstack.yml)

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

scenario="" steps_csv="" playbooks_csv="" destroy=0
while [ "$#" -gt 0 ]; do
    case "$1" in
        --steps) steps_csv="${2:-}"; shift 2 ;;
        --playbooks) playbooks_csv="${2:-}"; [ -n "$playbooks_csv" ] || usage; shift 2 ;;
        --destroy) destroy=1; shift ;;
        -h|--help) usage ;;
        -*) echo "gate-check: unknown option $1" >&2; usage ;;
        *) [ -z "$scenario" ] || usage; scenario="$1"; shift ;;
    esac
done
[ -n "$scenario" ] || usage
[ -f "$REPO/tests/lab/scenarios/$scenario.yml" ] || {
    known=("$REPO"/tests/lab/scenarios/*.yml); known=("${known[@]##*/}")
    echo "gate-check: no lab scenario '$scenario'; known: ${known[*]%.yml}" >&2
    exit 2
}
steps=("${ALL_STEPS[@]}")
if [ -n "$steps_csv" ]; then
    IFS=, read -r -a steps <<< "$steps_csv"
    for s in "${steps[@]}"; do
        [[ " ${ALL_STEPS[*]} " == *" $s "* ]] || { echo "gate-check: unknown step '$s'; steps: ${ALL_STEPS[*]}" >&2; exit 2; }
    done
fi

# The playbooks the deploy and idempotency steps (setup) and the healthcheck step run: their
# own, or those of --playbooks, each of which must be a playbook of the collection.
setup_playbooks=("${SETUP_PLAYBOOKS[@]}") health_playbooks=("${HEALTH_PLAYBOOKS[@]}")
if [ -n "$playbooks_csv" ]; then
    IFS=, read -r -a setup_playbooks <<< "$playbooks_csv"
    for pb in "${setup_playbooks[@]}"; do
        base="${pb%.yml}"
        [[ "$pb" == *.yml && -f "$REPO/playbooks/${base//-/_}.yml" ]] || { echo "gate-check: --playbooks: no playbook '$pb' in $REPO/playbooks" >&2; exit 2; }
    done
    health_playbooks=("${setup_playbooks[@]}")
fi
readonly setup_playbooks health_playbooks

readonly CONFIG_DIR="/etc/nimbus-lab/$scenario"
# This checkout's wrapper (not whichever one is on PATH): the gate tests the code it ships with.
# It runs the collection under NIMBUS_COLLECTIONS (default: where bootstrap-ansible.sh links it).
readonly OSA="$REPO/scripts/openstack-ansible"
RUN_DIR="${NIMBUS_GATE_DIR:-/var/log/nimbus-gate}/$scenario-$(date -u +%Y%m%dT%H%M%SZ)"
readonly RUN_DIR
mkdir -p "$RUN_DIR/timings" && chmod 0700 "$RUN_DIR"
: > "$RUN_DIR/steps.tsv"
export OSA_CONFIG_DIR="$CONFIG_DIR" OSA_LOG_DIR="$RUN_DIR/logs"

timeout_for() {  # default seconds for one command of a step
    local var="NIMBUS_GATE_TIMEOUT_${1^^}"
    local -A defaults=([bootstrap]=900 [lab]=900 [deploy]=3600 [healthcheck]=1800 [tempest]=2400 [idempotency]=1800)
    echo "${!var:-${defaults[$1]}}"
}

# run_limited STEP LABEL COMMAND... : run with the step's time limit; on time-out say what
# the command was doing (the last task it started).
failure=""
run_limited() {
    local step="$1" label="$2"; shift 2
    local limit out="$RUN_DIR/$step-${label//[^A-Za-z0-9_.-]/_}.out"
    limit="$(timeout_for "$step")"
    printf '\n==> [%s] %s (limit %ss)\n' "$step" "$label" "$limit"
    timeout --kill-after=30 "$limit" "$@" 2>&1 | tee "$out"
    local rc="${PIPESTATUS[0]}"
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        local waiting
        waiting="$(grep -E '^(TASK|RUNNING HANDLER|==>) ' "$out" | tail -n1)"
        failure="step '$step' ran out of time after ${limit}s in '$label' while waiting for: ${waiting:-its first output}"
        return 1
    elif [ "$rc" -ne 0 ]; then
        failure="step '$step' failed in '$label' (exit $rc); output: $out"
        return 1
    fi
}

# Timing files of every playbook started: each must exist and be readable for the report.
expected_timings=()
playbooks() {  # playbooks STEP PASS PLAYBOOK...
    local step="$1" pass="$2" pb timing; shift 2
    for pb in "$@"; do
        timing="$RUN_DIR/timings/${pass}-${pb%.yml}.json"
        expected_timings+=("$timing")
        NIMBUS_TIMINGS_FILE="$timing" run_limited "$step" "$pb" "$OSA" "$pb" || return 1
    done
}

# verify_timings STEP FILE... : the timing files must exist, be readable, show at least one
# host, no failure and (pass 2) no change; anything else, or a crash of the check, fails.
verify_timings() {
    local step="$1" out rc; shift
    out="$(/usr/bin/python3 "$REPO/scripts/gate-report.py" --verify "${@/#/--expect=}" 2>&1)"
    rc=$?
    [ "$rc" -eq 0 ] && return 0
    if [ "$rc" -eq 1 ] && [ -n "$out" ]; then
        failure="step '$step': $(echo "$out" | paste -sd';' -)"
    else
        failure="step '$step': the timing check (gate-report.py --verify) crashed with exit $rc: $(echo "${out:-no output}" | tail -n3 | paste -sd';' -)"
    fi
    return 1
}

step_bootstrap()   { run_limited bootstrap bootstrap-ansible "$REPO/scripts/bootstrap-ansible.sh"; }
# The lab, and the project's test image its scenarios upload (openstack_user_image).
step_lab() {
    run_limited lab "create $scenario" /usr/bin/python3 "$REPO/tests/lab/lab.py" create "$scenario" --config-dir "$CONFIG_DIR" &&
        run_limited lab "build the test image" "$REPO/scripts/build-test-image"
}
step_deploy() {
    playbooks deploy 1 "${setup_playbooks[@]}" &&
        verify_timings deploy "${expected_timings[@]}"
}
step_healthcheck() {
    playbooks healthcheck 0 "${health_playbooks[@]}" &&
        verify_timings healthcheck "${expected_timings[@]}"
}
# Tempest's results (subunit stream, tempest.log, results.json) go to $RUN_DIR/tempest; the
# playbook does not fail on a failed test: the report reads the stream and decides.
readonly TEMPEST_DIR="$RUN_DIR/tempest"
tempest_started=0
step_tempest() {
    local timing="$RUN_DIR/timings/0-os-tempest.json" out rc
    tempest_started=1
    expected_timings+=("$timing")
    NIMBUS_TIMINGS_FILE="$timing" run_limited tempest os-tempest.yml "$OSA" os-tempest.yml \
        -e "tempest_results_dir=$TEMPEST_DIR" -e tempest_fail_on_failure=false &&
        verify_timings tempest "$timing" || return 1
    out="$(/usr/bin/python3 "$REPO/scripts/gate-report.py" --verify --tempest "$TEMPEST_DIR" "--expect=$timing" 2>&1)"
    rc=$?
    [ "$rc" -eq 0 ] && return 0
    failure="step 'tempest': $(echo "${out:-gate-report.py --tempest crashed with exit $rc}" | paste -sd';' -)"
    return 1
}
step_idempotency() {
    local pb files=()
    playbooks idempotency 2 "${setup_playbooks[@]}" || return 1
    for pb in "${setup_playbooks[@]}"; do files+=("$RUN_DIR/timings/2-${pb%.yml}.json"); done
    verify_timings idempotency "${files[@]}"
}

collect_logs() {
    local archive="$RUN_DIR/lab-logs.tar.gz"
    printf '\n==> collecting logs of every lab host\n'
    if timeout 600 "$OSA" collect-logs.yml -e "collect_logs_dest=$RUN_DIR/hostlogs" \
        > "$RUN_DIR/collect-logs.out" 2>&1 && tar -czf "$archive" -C "$RUN_DIR" hostlogs; then
        echo "gate-check: logs and journals of every lab host: $archive"
    else
        echo "gate-check: could not collect every host's logs; see $RUN_DIR/collect-logs.out" >&2
    fi
}

main() {
    local s rc=0 t0
    for s in "${steps[@]}"; do
        t0=$SECONDS
        failure=""
        if "step_$s"; then
            printf '%s\tok\t%s\t\n' "$s" "$((SECONDS - t0))" >> "$RUN_DIR/steps.tsv"
        else
            printf '%s\tfailed\t%s\t%s\n' "$s" "$((SECONDS - t0))" "$failure" >> "$RUN_DIR/steps.tsv"
            rc=1
            break
        fi
    done
    printf '\n'
    # The report decides again from every file (fails closed on anything missing); a crash
    # of the report, or no report written, is a failure too.
    local found=() report_rc
    shopt -s nullglob
    found=("$RUN_DIR"/timings/*.json)
    shopt -u nullglob
    local tempest_args=()
    [ "$tempest_started" -eq 1 ] && tempest_args=(--tempest "$TEMPEST_DIR")
    /usr/bin/python3 "$REPO/scripts/gate-report.py" --out "$RUN_DIR/report.json" \
        --scenario "$scenario" --steps "$RUN_DIR/steps.tsv" "${tempest_args[@]}" \
        "${expected_timings[@]/#/--expect=}" "${found[@]}"
    report_rc=$?
    if [ "$report_rc" -ne 0 ]; then
        rc=1
        if [ ! -s "$RUN_DIR/report.json" ] || [ "$report_rc" -ne 1 ]; then
            failure="${failure:+$failure; }the report step (gate-report.py) crashed with exit $report_rc; no trustworthy report.json"
        elif [ -z "$failure" ]; then
            failure="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failure"])' "$RUN_DIR/report.json" 2>/dev/null)"
            failure="${failure:-the report found a problem (see above)}"
        fi
    fi
    echo "gate-check: report: $RUN_DIR/report.json"
    if [ "$rc" -ne 0 ]; then
        echo "gate-check: FAILED: $failure" >&2
        [ -d "$CONFIG_DIR" ] && collect_logs
    fi
    if [ "$destroy" -eq 1 ]; then
        /usr/bin/python3 "$REPO/tests/lab/lab.py" destroy "$scenario"
    else
        echo "gate-check: the lab stays up; remove it with: tests/lab/lab.py destroy $scenario"
    fi
    return "$rc"
}

main
