"""How long the publish function's work may take: the figures ``infra/`` derives its timeout
from, so that the code and the timeout cannot drift apart.

The handler starts a batch only while :data:`RESERVE_SECONDS` remain of the invocation,
and its AWS calls only until what then remains is the reserve less one record's
:data:`RECORD_DEADLINE_SECONDS` (:func:`newswire.adapters.aws_errors.time_limit`, which holds
in every thread of the batch): the calls under way at the deadline may run their course, the
work no deadline stops and the WebSub announce still fit, so a slow batch fails its messages
rather than time out.
"""

from __future__ import annotations

from newswire.adapters.aws_errors import SDK_CALL_WORST_CASE_SECONDS
from newswire.adapters.websub import DEADLINE as ANNOUNCE_DEADLINE_SECONDS

#: Seconds one record may start AWS calls for; past it, it fails and SQS delivers it again.
RECORD_DEADLINE_SECONDS = 10.0
#: The longest one record can take: its deadline, then the call under way at it.
RECORD_BUDGET_SECONDS = RECORD_DEADLINE_SECONDS + SDK_CALL_WORST_CASE_SECONDS
#: Work no deadline stops: a record's rendering after its last AWS call (the sanitiser may take
#: a second or two on a hostile body), reading a response body, and the metrics flush.
UNBOUNDED_WORK_SECONDS = 5.0
#: A record is started only while this much of the invocation remains: its budget, the work
#: no deadline stops, then telling the WebSub hubs (all at once, within their deadline) what
#: the batch changed.
RESERVE_SECONDS = RECORD_BUDGET_SECONDS + UNBOUNDED_WORK_SECONDS + ANNOUNCE_DEADLINE_SECONDS

__all__ = [
    "ANNOUNCE_DEADLINE_SECONDS",
    "RECORD_BUDGET_SECONDS",
    "RECORD_DEADLINE_SECONDS",
    "RESERVE_SECONDS",
    "UNBOUNDED_WORK_SECONDS",
]
