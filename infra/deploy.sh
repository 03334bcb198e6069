#!/usr/bin/env bash
# Deploy newswire to the AWS account and region of the current credentials.
#
# Usage (from anywhere):
#   PY=.venv/bin/python infra/deploy.sh [-c key=value ...] [other `cdk deploy` options]
# e.g.
#   infra/deploy.sh -c base_url=https://englishnews.example/ -c alarm_email=ops@example.com
#   infra/deploy.sh -c domain_name=feeds.example.com \
#                   -c certificate_arn=arn:aws:acm:us-east-1:111122223333:certificate/...
#
# Steps: build (or reuse) the dependency layer, bootstrap the environment (idempotent: a
# no-op once done), deploy, and write the stack outputs to infra/build/outputs.json.
# Needs: Node 20+ with npx (the CDK CLI comes from npm as aws-cdk@2), AWS credentials
# (AWS_PROFILE, or AWS_ACCESS_KEY_ID/..., with AWS_REGION or a profile region).
# CDK_APPROVAL=never skips the prompt for IAM/security changes (for CI); default: broadening.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PY:-.venv/bin/python}"
CDK=(npx --yes aws-cdk@2)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1

command -v npx >/dev/null || { echo "deploy: npx not found; install Node.js 20 or newer" >&2; exit 1; }
[[ -x "$PY" ]] || { echo "deploy: $PY not found; run 'make venv' first" >&2; exit 1; }

echo "== dependency layer"
"$PY" infra/build_layer.py >/dev/null

cd infra
echo "== bootstrap (once per account and region)"
"${CDK[@]}" bootstrap
echo "== deploy"
"${CDK[@]}" deploy Newswire \
    --require-approval "${CDK_APPROVAL:-broadening}" \
    --outputs-file build/outputs.json \
    "$@"

echo
echo "Stack outputs (also in infra/build/outputs.json):"
"$PY" - build/outputs.json <<'EOF'
import json, sys

outputs = json.load(open(sys.argv[1]))["Newswire"]
for key in sorted(outputs):
    print(f"  {key:24} {outputs[key]}")
print(f"\nNext: {outputs['UploadContentCommand']}")
EOF
