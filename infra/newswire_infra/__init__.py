"""newswire's infrastructure as a CDK app: one construct per concern.

- :mod:`storage`: content bucket, feeds bucket, article index table, access-log bucket;
- :mod:`pipeline`: S3 events → SQS (with dead-letter queue) → publish function; reindex;
- :mod:`delivery`: CloudFront with Origin Access Control in front of the feeds bucket;
- :mod:`monitoring`: alarms, optionally mailed;
- :mod:`feed_function`: how every function runs (runtime, architecture, logs, Powertools).
"""

from newswire_infra.delivery import CustomDomain
from newswire_infra.settings import Settings, cdk_json_context
from newswire_infra.stack import NewswireStack

__all__ = ["CustomDomain", "NewswireStack", "Settings", "cdk_json_context"]
