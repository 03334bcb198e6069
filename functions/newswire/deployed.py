"""``newswire reindex --deployed``: start the deployed reindex and follow it to its end.

The reindex runs in AWS as a Step Functions state machine (``infra/newswire_infra/reindex.py``):
``Begin``, then ``IndexArticles`` (a Distributed Map over the articles), ``Plan``, then
``RenderFeeds`` (a Distributed Map over the feeds). This command starts it and prints a line
each time what it would say changes: the phase, and in a map phase how many items are done.
It exits 0 when the run succeeds, 1 when it fails (with AWS's error and cause), 2 when it could
not be started or followed.

The state machine is found by ``--state-machine-arn``, else ``$REINDEX_STATE_MACHINE_ARN``,
else the ``ReindexStateMachineArn`` output that ``infra/deploy.sh`` saved in
``infra/build/outputs.json``.
"""

from __future__ import annotations

from enum import StrEnum

#: The environment variable (of a shell, or of the site-changed function) naming the machine.
STATE_MACHINE_VARIABLE = "REINDEX_STATE_MACHINE_ARN"
#: The stack output that names it.
REINDEX_OUTPUT = "ReindexStateMachineArn"


class ReindexPhase(StrEnum):
    """The states of the reindex state machine, in the order they run (infra names them so)."""

    BEGIN = "Begin"
    INDEX = "IndexArticles"
    PLAN = "Plan"
    RENDER = "RenderFeeds"
