"""Where newswire keeps things: articles, rendered feeds, the article index, access logs."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from newswire.adapters.s3 import REINDEX_PREFIX, REPORTS_PREFIX
from newswire.content.articles import ARTICLES_PREFIX
from newswire.content.site import SITE_CONFIG_KEY
from newswire_infra.checkov import skip_checks
from newswire_infra.grants import BUCKET_LIST, OBJECT_READ, allow

#: Content bucket layout, the application's own names: articles, ``site.yaml``; error reports
#: (never public, outside ``articles/`` so writing one never triggers the pipeline again); and
#: a running reindex's work files (outside ``articles/`` too, expired after
#: :data:`REINDEX_FILES_RETENTION`).
__all__ = ["ARTICLES_PREFIX", "REINDEX_PREFIX", "REPORTS_PREFIX", "SITE_CONFIG_KEY", "Storage"]

#: How long replaced or deleted article versions are kept before S3 expires them.
CONTENT_VERSION_RETENTION = Duration.days(90)
#: Feeds are derived data; old versions only serve to roll back a bad render.
FEEDS_VERSION_RETENTION = Duration.days(7)
ACCESS_LOG_RETENTION = Duration.days(365)
#: CloudFront wrote its standard logs (readers' addresses) under this prefix of the access-log
#: bucket before they got a bucket of their own (``audience.py``): what is left there expires
#: as fast as in that bucket.
FORMER_CLOUDFRONT_PREFIX = "cloudfront/"
FORMER_CLOUDFRONT_RETENTION = Duration.days(2)
ABORT_INCOMPLETE_UPLOADS = Duration.days(7)
#: A reindex reads its work files within the hour it may run; a few days leave time to look.
REINDEX_FILES_RETENTION = Duration.days(3)

#: What the functions call, action by action (``newswire.adapters``; reads and listing in
#: :mod:`newswire_infra.grants`). A new AWS call in an adapter needs its action here.
REPORT_WRITE = ("s3:PutObject", "s3:DeleteObject")
FEED_WRITE = ("s3:GetObject", "s3:PutObject")
#: The feeds of syndication partners, the only feeds ever deleted (a partner disabled).
PARTNER_FEEDS = "partners/*/rss.xml"
#: The index's reads and the Put/Update/Delete/ConditionCheck items of its transactions.
INDEX_ITEMS = (
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
)
#: Only a rebuild walks the whole index.
INDEX_SCAN = ("dynamodb:Scan",)


def _private_bucket(scope: Construct, construct_id: str, **kwargs: Any) -> s3.Bucket:
    """A bucket as every newswire bucket is: no public access, SSE-S3, TLS only, retained."""
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        removal_policy=RemovalPolicy.RETAIN,
        **kwargs,
    )


class Storage(Construct):
    """The content bucket, the feeds bucket, the index table and the access-log bucket.

    Buckets use SSE-S3: CloudFront's origin access control reads SSE-S3 objects without a key
    policy, and S3 event notifications reach an SSE-SQS queue without KMS grants. Versioned
    buckets are retained when the stack is deleted, so no article is ever lost to a teardown.

    The index table is derived from the content bucket (``newswire reindex`` rebuilds it), so it
    is deleted with the stack; it uses the AWS-managed key (``aws/dynamodb``): it holds the same
    public news text as the feeds, and a customer key would add cost and a key policy to keep
    right without protecting anything more.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)

        self.access_logs = _private_bucket(
            self,
            "AccessLogs",
            # S3 server access logs use the bucket policy (feature flag
            # serverAccessLogsUseBucketPolicy); the ACL-friendly ownership is kept from when
            # CloudFront (which writes with an ACL grant) logged here.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=ACCESS_LOG_RETENTION,
                    abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_UPLOADS,
                ),
                s3.LifecycleRule(
                    prefix=FORMER_CLOUDFRONT_PREFIX, expiration=FORMER_CLOUDFRONT_RETENTION
                ),
            ],
        )
        skip_checks(
            self.access_logs,
            {
                "CKV_AWS_18": "This is the access-log bucket; logging it into itself would loop.",
                "CKV_AWS_21": "Access logs are written once and expire (a year; CloudFront's "
                "former logs two days); versions "
                "would add nothing.",
            },
        )

        self.content_bucket = _private_bucket(
            self,
            "Content",
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="s3/content/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=CONTENT_VERSION_RETENTION,
                    abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_UPLOADS,
                ),
                s3.LifecycleRule(
                    prefix=REINDEX_PREFIX,
                    expiration=REINDEX_FILES_RETENTION,
                    noncurrent_version_expiration=Duration.days(1),
                ),
            ],
        )

        self.feeds_bucket = _private_bucket(
            self,
            "Feeds",
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="s3/feeds/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=FEEDS_VERSION_RETENTION,
                    abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_UPLOADS,
                )
            ],
        )

        self.index_table = dynamodb.Table(
            self,
            "Index",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.DESTROY,
        )
        skip_checks(
            self.index_table,
            {
                "CKV_AWS_119": "Encrypted with the AWS-managed key aws/dynamodb: the index holds "
                "public news metadata rebuilt from the content bucket; a customer key adds cost "
                "and a key policy without protecting anything more.",
            },
        )

    @property
    def environment(self) -> dict[str, str]:
        """The variables through which a function finds the storage."""
        return {
            "CONTENT_BUCKET": self.content_bucket.bucket_name,
            "FEEDS_BUCKET": self.feeds_bucket.bucket_name,
            "INDEX_TABLE": self.index_table.table_name,
            "SITE_CONFIG_KEY": SITE_CONFIG_KEY,
        }

    def grant_feed_builder(self, grantee: iam.IGrantable, *, scans_index: bool = False) -> None:
        """Let a function read articles and the site config, report errors, write feeds.

        Only the actions the code calls, since CDK's ``grant_read_write`` would add deletes,
        object-lock and tagging actions nothing here uses. Content bucket: read ``articles/*``
        and ``site.yaml``; write and delete reports under ``_reports/`` only (versioning keeps
        deleted ones). Feeds bucket: read and (conditionally) write feeds, never delete (but
        see :meth:`grant_partner_feed_removal`).
        Index table: read items and write them in transactions.

        Args:
            grantee: the function.
            scans_index: also allow a full scan of the index (the reindex function).
        """
        buckets = (self.content_bucket, self.feeds_bucket)
        allow(grantee, BUCKET_LIST, [bucket.bucket_arn for bucket in buckets])
        allow(
            grantee,
            OBJECT_READ,
            [
                self.content_bucket.arn_for_objects(f"{ARTICLES_PREFIX}*"),
                self.content_bucket.arn_for_objects(SITE_CONFIG_KEY),
            ],
        )
        allow(grantee, REPORT_WRITE, [self.content_bucket.arn_for_objects(f"{REPORTS_PREFIX}*")])
        allow(grantee, FEED_WRITE, [self.feeds_bucket.arn_for_objects("*")])
        table_actions = INDEX_ITEMS + (INDEX_SCAN if scans_index else ())
        allow(grantee, table_actions, [self.index_table.table_arn])

    def grant_partner_feed_removal(self, grantee: iam.IGrantable) -> None:
        """Let the reindex's render step delete partner feeds (``partners/*/rss.xml``): a
        partner taken out of ``site.yaml`` would otherwise read its last feed forever. No
        other feed may be deleted."""
        allow(grantee, ("s3:DeleteObject",), [self.feeds_bucket.arn_for_objects(PARTNER_FEEDS)])

    def grant_reindex_write(self, grantee: iam.IGrantable) -> None:
        """Let a reindex step write its files under ``_reindex/`` (the plan its feed list,
        a render batch its directory listings)."""
        allow(
            grantee, ("s3:PutObject",), [self.content_bucket.arn_for_objects(f"{REINDEX_PREFIX}*")]
        )

    def grant_reindex_read(self, grantee: iam.IGrantable) -> None:
        """Let the reindex's directory step read the listings under ``_reindex/`` (it may
        list the content bucket as every feed builder may)."""
        allow(grantee, OBJECT_READ, [self.content_bucket.arn_for_objects(f"{REINDEX_PREFIX}*")])

    def grant_site_check(self, grantee: iam.IGrantable) -> None:
        """Let a function read ``site.yaml`` and write or remove its report, nothing else."""
        allow(grantee, BUCKET_LIST, [self.content_bucket.bucket_arn])
        allow(grantee, OBJECT_READ, [self.content_bucket.arn_for_objects(SITE_CONFIG_KEY)])
        allow(
            grantee,
            REPORT_WRITE,
            [self.content_bucket.arn_for_objects(f"{REPORTS_PREFIX}{SITE_CONFIG_KEY}.json")],
        )
