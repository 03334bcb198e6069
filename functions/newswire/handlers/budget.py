"""How long the publish function's work may take: the figures ``infra/`` derives its timeout
from, so that the code and the timeout cannot drift apart.

The handler starts a batch only while :data:`RESERVE_SECONDS` remain of the invocation,
and its AWS calls only until what then remains is the reserve less
:data:`RECORD_DEADLINE_SECONDS` (:func:`newswire.adapters.aws_errors.time_limit`, which holds
in every thread of the batch): the calls under way at the deadline may run their course, the
work no deadline stops and the WebSub announce still fit, so a slow batch fails its messages
rather than time out.
"""

from __future__ import annotations

from newswire.adapters.aws_errors import SDK_CALL_WORST_CASE_SECONDS
from newswire.adapters.websub import DEADLINE as ANNOUNCE_DEADLINE_SECONDS

#: Seconds each record of a batch is given to start AWS calls in (the function's timeout counts
#: one per record; a batch gets what is left of the invocation less the rest of the reserve):
#: past the batch's deadline its unfinished messages fail and SQS delivers them again.
RECORD_DEADLINE_SECONDS = 10.0
#: A record's share of the timeout: its deadline, then the call under way at it.
RECORD_BUDGET_SECONDS = RECORD_DEADLINE_SECONDS + SDK_CALL_WORST_CASE_SECONDS
#: Work no deadline stops: rendering after the last AWS call (the sanitiser on a hostile body:
#: ``benchmarks/RESULTS.md``, "Hostile bodies"), reading a response body, and the metrics flush.
UNBOUNDED_WORK_SECONDS = 5.0
#: A batch is started only while this much of the invocation remains: a record's budget, the
#: work no deadline stops, then telling the WebSub hubs (all at once, within their deadline)
#: what the batch changed.
RESERVE_SECONDS = RECORD_BUDGET_SECONDS + UNBOUNDED_WORK_SECONDS + ANNOUNCE_DEADLINE_SECONDS

__all__ = [
    "ANNOUNCE_DEADLINE_SECONDS",
    "RECORD_BUDGET_SECONDS",
    "RECORD_DEADLINE_SECONDS",
    "RESERVE_SECONDS",
    "UNBOUNDED_WORK_SECONDS",
]
