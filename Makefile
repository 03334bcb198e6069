# newswire: the two commands a newcomer needs are `make serve` and `make test`.
# Every target installs what it needs into .venv first, so a fresh clone works.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: help venv test lint typecheck unit build serve synth infra-check bench deploy destroy redrive reindex layer clean

help:
	@echo "make serve   - local stack on moto, prints the feed URLs"
	@echo "make test    - lint, type-check and the whole test suite"
	@echo "make build   - build content/ into public/"
	@echo "make bench   - benchmarks (writes benchmarks/RESULTS.md)"
	@echo "make synth   - synthesize the CDK app into infra/cdk.out/"
	@echo "make deploy  - deploy to the AWS account in your environment"
	@echo "make destroy - tear the deployment down (buckets are kept)"
	@echo "make redrive - send the dead-letter queue's article events back to the queue"
	@echo "make reindex - rebuild the index and every feed in AWS, and follow the run"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "newswire needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check functions tests infra benchmarks
	$(VENV)/bin/ruff format --check functions tests infra benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest -q -n auto --dist loadfile tests

test: lint typecheck unit infra-check

build: $(STAMP)
	$(VENV)/bin/newswire build content --out public

serve: $(STAMP)
	$(VENV)/bin/newswire serve content

synth: $(STAMP)
	cd infra && ../$(PY) app.py $(CDK_ARGS)

layer: $(STAMP)
	$(PY) infra/build_layer.py

# make deploy CDK_ARGS="-c base_url=https://... -c alarm_email=..."
deploy: $(STAMP)
	PY=$(PY) infra/deploy.sh $(CDK_ARGS)

destroy: $(STAMP)
	PY=$(PY) infra/destroy.sh $(CDK_ARGS)

# make redrive [DLQ_URL=https://sqs...]; by default $DEAD_LETTER_QUEUE_URL, else the
# DeadLetterQueueUrl output that infra/deploy.sh saved.
OUTPUTS ?= infra/build/outputs.json
DLQ_URL ?= $(or $(DEAD_LETTER_QUEUE_URL),$(shell test -f $(OUTPUTS) && $(PYTHON) -c 'import json, sys; print(json.load(open(sys.argv[1]))["Newswire"]["DeadLetterQueueUrl"])' $(OUTPUTS)))
redrive: $(STAMP)
	$(VENV)/bin/newswire redrive $(if $(DLQ_URL),--dead-letter-queue-url "$(DLQ_URL)")

# make reindex [STATE_MACHINE_ARN=arn:aws:states:...]; by default $REINDEX_STATE_MACHINE_ARN,
# else the ReindexStateMachineArn output in $(OUTPUTS) (newswire reads it).
reindex: $(STAMP)
	$(VENV)/bin/newswire reindex --deployed --outputs "$(OUTPUTS)" $(if $(STATE_MACHINE_ARN),--state-machine-arn "$(STATE_MACHINE_ARN)")

infra-check: $(STAMP)
	@if [ -x infra/check.sh ]; then PY=$(PY) infra/check.sh; else echo "infra: no checks yet"; fi

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .venv-checkov public infra/cdk.out infra/build .mypy_cache .ruff_cache .pytest_cache
