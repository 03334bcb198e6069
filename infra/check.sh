#!/usr/bin/env bash
# Static checks of the CDK app, run by `make test` (target infra-check):
#   1. synthesize the stack twice, offline and without an AWS account: as `make synth` does
#      (into infra/cdk.out/) and with every option set (custom domain, alarm e-mail);
#   2. cfn-lint both templates (W3005, redundant DependsOn written by CDK itself, is ignored);
#   3. checkov both templates: no failed check; suppressions live in the code, with reasons.
# The synth uses a stub layer (an empty python/ folder), so no wheel is downloaded; the real
# layer is built by `make synth` / infra/deploy.sh. Checkov pins an old boto3, so it gets its
# own virtualenv, .venv-checkov/, created on first use and reused afterwards.
#
# Usage (from anywhere): PY=.venv/bin/python infra/check.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="${PY:-.venv/bin/python}"
PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"
BIN="$(dirname "$PY")"
CHECKOV_VERSION="3.3.30"
CHECKOV_VENV="$ROOT/.venv-checkov"

# Offline, account-free synthesis: a dummy environment, no credentials looked up.
export CDK_DEFAULT_ACCOUNT=123456789012 CDK_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
export PYTHONDONTWRITEBYTECODE=1

started=$SECONDS
step() { printf '\n== infra: %s (%ss)\n' "$1" "$((SECONDS - started))"; }

stub_layer="$ROOT/infra/build/stub-layer"
options_out="$ROOT/infra/build/cdk.out.options"
mkdir -p "$stub_layer/python"

# Checkov's virtualenv installs in the background while the stack synthesizes.
if [[ ! -f "$CHECKOV_VENV/.installed-$CHECKOV_VERSION" ]]; then
    (
        rm -rf "$CHECKOV_VENV"
        python3 -m venv "$CHECKOV_VENV"
        "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check \
            "checkov==$CHECKOV_VERSION" 2>&1 | grep -v "is ignored" || true
        "$CHECKOV_VENV/bin/checkov" --version >/dev/null
        touch "$CHECKOV_VENV/.installed-$CHECKOV_VERSION"
    ) >"$ROOT/infra/build/checkov-install.log" 2>&1 &
    checkov_install=$!
fi

step "synth: default (into infra/cdk.out/) and every option (custom domain, alarm e-mail)"
rm -rf infra/cdk.out "$options_out"
CDK_OUTDIR="$options_out" "$PY" infra/app.py \
    -c "layer_dir=$stub_layer" \
    -c domain_name=feeds.example.com \
    -c certificate_arn=arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000 \
    -c alarm_email=newsroom-ops@example.com \
    -c base_url=https://englishnews.example/ &
options_synth=$!
(cd infra && "$PY" app.py -c "layer_dir=$stub_layer")
wait "$options_synth"
templates=(infra/cdk.out/*.template.json "$options_out"/*.template.json)

step "cfn-lint ${#templates[@]} templates"
"$BIN/cfn-lint" --ignore-checks W3005 -- "${templates[@]}"
echo "cfn-lint: clean"

if [[ -n "${checkov_install:-}" ]]; then
    step "waiting for checkov $CHECKOV_VERSION to install into .venv-checkov/"
    if ! wait "$checkov_install"; then
        cat "$ROOT/infra/build/checkov-install.log" >&2
        exit 1
    fi
fi

step "checkov"
report="$ROOT/infra/build/checkov.json"
checkov_args=(--skip-download --framework cloudformation --compact)
for t in "${templates[@]}"; do checkov_args+=(-f "$t"); done
status=0
"$CHECKOV_VENV/bin/checkov" "${checkov_args[@]}" -o json >"$report" || status=$?
"$PY" - "$report" <<'EOF'
import json, sys
from collections import Counter

data = json.load(open(sys.argv[1]))
reports = data if isinstance(data, list) else [data]
summary = Counter()
for report in reports:
    summary.update({k: v for k, v in report["summary"].items() if isinstance(v, int)})
    for check in report["results"].get("failed_checks", []):
        print(f"FAILED {check['check_id']} {check['resource']}: {check['check_name']}")
        print(f"       {check['file_path']}:{check['file_line_range']}")
skipped = Counter(
    check["check_id"]
    for report in reports
    for check in report["results"].get("skipped_checks", [])
)
print(
    f"checkov: {summary['passed']} passed, {summary['failed']} failed, "
    f"{summary['skipped']} skipped with a reason in the code "
    f"({', '.join(f'{k} x{n}' for k, n in sorted(skipped.items()))})"
)
EOF
if [[ $status -ne 0 ]]; then
    echo "checkov: failed (exit $status); full report in $report" >&2
    exit "$status"
fi

step "done"
