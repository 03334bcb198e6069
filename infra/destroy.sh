#!/usr/bin/env bash
# Delete the newswire stack. The buckets are RETAINED: no article is ever lost to a teardown.
#
# Usage (from anywhere):
#   PY=.venv/bin/python infra/destroy.sh [--purge-buckets] [other `cdk destroy` options]
#
# Without --purge-buckets, the content, feeds and access-log buckets stay in the account and
# their names are printed. With --purge-buckets, after you type the stack name, every object
# version of those three buckets is deleted and the buckets with them: this is final, the
# articles are gone.
# Needs: Node 20+ with npx, AWS credentials for the stack's account and region.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PY:-.venv/bin/python}"
STACK=Newswire
CDK=(npx --yes aws-cdk@2)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1

purge=false
cdk_args=()
for arg in "$@"; do
    if [[ "$arg" == --purge-buckets ]]; then purge=true; else cdk_args+=("$arg"); fi
done

command -v npx >/dev/null || { echo "destroy: npx not found; install Node.js 20 or newer" >&2; exit 1; }
[[ -x "$PY" ]] || { echo "destroy: $PY not found; run 'make venv' first" >&2; exit 1; }

# The bucket names, read while the stack still knows them. Bucket names have no spaces, so
# the word splitting of $buckets below is intended.
buckets="$("$PY" - "$STACK" <<'PYTHON'
import sys

import boto3
from botocore.exceptions import ClientError

try:
    resources = boto3.client("cloudformation").describe_stack_resources(StackName=sys.argv[1])
except ClientError as error:
    sys.exit(f"destroy: {error}")
for resource in resources["StackResources"]:
    if resource["ResourceType"] == "AWS::S3::Bucket":
        print(resource["PhysicalResourceId"])
PYTHON
)"

# `cdk destroy` synthesizes the app too; a stub layer is enough to name the stack.
stub_layer="$ROOT/infra/build/stub-layer"
mkdir -p "$stub_layer/python"
(cd infra && "${CDK[@]}" destroy "$STACK" -c "layer_dir=$stub_layer" ${cdk_args[@]+"${cdk_args[@]}"})

if "$PY" - "$STACK" >/dev/null 2>&1 <<'PYTHON'
import sys

import boto3

boto3.client("cloudformation").describe_stacks(StackName=sys.argv[1])
PYTHON
then
    echo "Stack $STACK still exists (destroy declined?); buckets left alone."
    exit 0
fi
echo "Stack $STACK deleted."
[[ -n "$buckets" ]] || exit 0

if [[ "$purge" != true ]]; then
    echo
    echo "Retained buckets (versioned; they keep every article):"
    # shellcheck disable=SC2086
    printf '  s3://%s\n' $buckets
    echo "To delete them and everything in them: infra/destroy.sh --purge-buckets"
    echo "(or empty each one in the S3 console, then delete it)."
    exit 0
fi

echo
echo "About to delete, with every version of every object:"
# shellcheck disable=SC2086
printf '  s3://%s\n' $buckets
read -r -p "Type the stack name ($STACK) to confirm: " answer
[[ "$answer" == "$STACK" ]] || { echo "Not confirmed; buckets kept."; exit 1; }
# shellcheck disable=SC2086
"$PY" - $buckets <<'PYTHON'
import sys
import time

import boto3
from botocore.exceptions import ClientError

s3 = boto3.resource("s3")
# The access-log bucket goes last: emptying the others writes access logs into it.
for name in sorted(sys.argv[1:], key=lambda n: "accesslogs" in n.lower()):
    bucket = s3.Bucket(name)
    for attempt in range(5):
        bucket.object_versions.delete()
        try:
            bucket.delete()
            break
        except ClientError as error:
            if error.response["Error"]["Code"] != "BucketNotEmpty" or attempt == 4:
                raise
            time.sleep(10)  # logs delivered late: empty it again
    print(f"deleted s3://{name}")
PYTHON
