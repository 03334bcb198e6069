"""Grants of exactly the actions the code calls, on exactly the keys it touches.

CDK's bucket grants give more than newswire's functions use, as their synthesized policies
show: ``grant_read`` allows ``s3:GetObject*``, ``s3:GetBucket*`` and ``s3:List*`` (object
ACLs and tags, the bucket's policy, versions and uploads), ``grant_put`` adds object lock
(``PutObjectLegalHold``, ``PutObjectRetention``) and tagging, ``grant_delete`` every
``s3:DeleteObject*`` (versions too), and ``Metric.grant_put_metric_data`` any namespace. Each
function's role is instead a list of the S3, DynamoDB and CloudWatch calls its adapter makes,
through CDK's own :meth:`aws_iam.Grant.add_to_principal`, and ``tests/infra`` checks the
exact list, role by role.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam

#: What an adapter's reads need: GetObject also covers HeadObject.
OBJECT_READ = ("s3:GetObject",)
#: ListBucket makes S3 answer a missing key with 404 (what the adapters expect) instead of 403.
BUCKET_LIST = ("s3:ListBucket",)


def allow(
    grantee: iam.IGrantable,
    actions: Sequence[str],
    resources: Sequence[str],
    *,
    conditions: dict[str, dict[str, str]] | None = None,
) -> iam.Grant:
    """Let ``grantee`` call ``actions`` on ``resources`` (under ``conditions``), nothing more.

    Returns:
        CDK's grant, as the ``grant_*`` methods return it.
    """
    return iam.Grant.add_to_principal(
        grantee=grantee, actions=list(actions), resource_arns=list(resources), conditions=conditions
    )
