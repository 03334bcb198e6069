"""How readers get the feeds: a CloudFront distribution in front of the private feeds bucket."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from newswire_infra.checkov import skip_checks

#: Feed files at the root of the feeds bucket (see ``newswire.domain.feeds.FeedFormat``).
FEED_FILES = {"Rss": "rss.xml", "Atom": "atom.xml", "Json": "feed.json"}

#: Caching honours each object's Cache-Control. Feeds carry ``s-maxage=0`` (see
#: ``newswire.adapters.s3.FEED_CACHE_CONTROL``): CloudFront keeps them but asks S3 on every
#: request (a conditional GET, 304 when unchanged), so a WebSub hub fetching right after a ping
#: gets the new feed. An object without Cache-Control is treated the same (default TTL 0).
DEFAULT_TTL = Duration.seconds(0)
MAX_TTL = Duration.days(1)
HSTS_MAX_AGE = Duration.days(730)
#: The viewer-response function that lets browsers style feeds (see the file).
BROWSER_VIEW_FUNCTION = Path(__file__).with_name("browser_view.js")

#: S3 answers 403 for a missing key to a reader that may not list the bucket (CloudFront's
#: OAC): readers get 404 and this small page instead, written into the feeds bucket at deploy.
NOT_FOUND_PAGE = Path(__file__).with_name("not_found.html")
NOT_FOUND_KEY = "_errors/404.html"
NOT_FOUND_CACHE_CONTROL = "public, max-age=300"

#: ACM certificates for CloudFront must live in us-east-1.
CERTIFICATE_REGION = "us-east-1"


@dataclass(frozen=True)
class CustomDomain:
    """A domain name of one's own for the feeds, with its ACM certificate (in us-east-1).

    Raises:
        ValueError: if the certificate ARN is not an ACM ARN in us-east-1.
    """

    domain_name: str
    certificate_arn: str

    def __post_init__(self) -> None:
        parts = self.certificate_arn.split(":")
        if len(parts) < 6 or parts[0] != "arn" or parts[2] != "acm":
            raise ValueError(
                f"certificate_arn is not an ACM certificate ARN: {self.certificate_arn}"
            )
        if parts[3] != CERTIFICATE_REGION:
            raise ValueError(
                f"CloudFront needs its certificate in {CERTIFICATE_REGION}, "
                f"not {parts[3]}: {self.certificate_arn}"
            )


class Delivery(Construct):
    """The feeds, served only through CloudFront, over HTTPS, compressed, cached briefly.

    The bucket stays private: CloudFront reads it through an Origin Access Control, whose
    bucket policy lets only this distribution call ``s3:GetObject``. Viewers are redirected to
    HTTPS; responses carry security headers and CORS for GET from any origin, so web-based
    feed readers can fetch the feeds.

    TLS: ``TLSv1.2_2021`` is the minimum with a custom domain. Without one, CloudFront serves
    its default ``*.cloudfront.net`` certificate and its own security policy (TLSv1 minimum),
    which a distribution cannot change.

    Args:
        scope: parent construct.
        construct_id: construct id.
        feeds_bucket: the bucket the publisher writes feeds to.
        log_bucket: where CloudFront writes its access logs (prefix ``cloudfront/``).
        custom_domain: optional domain name and certificate.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        feeds_bucket: s3.IBucket,
        log_bucket: s3.IBucket,
        custom_domain: CustomDomain | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        cache_policy = cloudfront.CachePolicy(
            self,
            "FeedCaching",
            comment="newswire feeds: honour Cache-Control (s-maxage=0: revalidate with S3)",
            min_ttl=Duration.seconds(0),
            default_ttl=DEFAULT_TTL,
            max_ttl=MAX_TTL,
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
        )
        headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            response_headers_policy_name=self._regional_name("security-headers"),
            comment="newswire feeds: security headers, CORS GET from any origin",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
            ),
            cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
                access_control_allow_credentials=False,
                access_control_allow_headers=["*"],
                access_control_allow_methods=["GET", "HEAD"],
                access_control_allow_origins=["*"],
                origin_override=True,
            ),
        )

        self.browser_view = cloudfront.Function(
            self,
            "BrowserView",
            comment="Serve RSS/Atom as application/xml to browsers so feed.xsl styles them",
            code=cloudfront.FunctionCode.from_file(file_path=str(BROWSER_VIEW_FUNCTION)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="newswire feeds",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(
                    feeds_bucket,
                    origin_access_control=cloudfront.S3OriginAccessControl(
                        self,
                        "FeedsAccess",
                        origin_access_control_name=self._regional_name("feeds"),
                        description="newswire: CloudFront reads the private feeds bucket",
                    ),
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                compress=True,
                cache_policy=cache_policy,
                response_headers_policy=headers_policy,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=self.browser_view,
                        event_type=cloudfront.FunctionEventType.VIEWER_RESPONSE,
                    )
                ],
            ),
            # "/" is the feed directory the publisher writes at the bucket's root
            # (newswire.rendering.directory.PAGE_PATH; tests/infra checks they agree).
            default_root_object="index.html",
            error_responses=[
                cloudfront.ErrorResponse(
                    http_status=403,
                    response_http_status=404,
                    response_page_path=f"/{NOT_FOUND_KEY}",
                    # A feed published a moment later must not stay a cached 404.
                    ttl=Duration.seconds(0),
                )
            ],
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
            **self._domain_settings(custom_domain),
        )
        reasons = {
            "CKV_AWS_68": "Read-only public feeds of static files: nothing for a WAF to protect "
            "that CloudFront's built-in DDoS protection does not, at $5+/month per web ACL.",
        }
        if custom_domain is None:
            reasons["CKV_AWS_174"] = (
                "No custom domain: CloudFront's default *.cloudfront.net certificate applies its "
                "own TLS policy, which cannot be set; with -c domain_name=... TLSv1.2_2021 is set."
            )
        skip_checks(self.distribution, reasons)
        self._write_not_found_page(feeds_bucket)
        self.domain_name = (
            custom_domain.domain_name
            if custom_domain
            else self.distribution.distribution_domain_name
        )

    def _regional_name(self, purpose: str) -> str:
        """A name for an account-wide CloudFront resource that differs per stack and region.

        CloudFront policies and origin access controls are global: a fixed name would make a
        second deployment of the stack, in another region, fail on the name.
        """
        return f"{Stack.of(self).stack_name[:32]}-{purpose}-{Aws.REGION}"

    def _write_not_found_page(self, feeds_bucket: s3.IBucket) -> None:
        """Put the 404 page into the feeds bucket at deploy time (create and update).

        The custom resource may only put that one object; it runs the SDK Lambda bundles.
        """
        put_page = cr.AwsSdkCall(
            service="S3",
            action="putObject",
            parameters={
                "Bucket": feeds_bucket.bucket_name,
                "Key": NOT_FOUND_KEY,
                "Body": NOT_FOUND_PAGE.read_text(encoding="utf-8"),
                "ContentType": "text/html; charset=utf-8",
                "CacheControl": NOT_FOUND_CACHE_CONTROL,
            },
            physical_resource_id=cr.PhysicalResourceId.of(NOT_FOUND_KEY),
        )
        cr.AwsCustomResource(
            self,
            "NotFoundPage",
            on_create=put_page,
            on_update=put_page,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["s3:PutObject"],
                        resources=[feeds_bucket.arn_for_objects(NOT_FOUND_KEY)],
                    )
                ]
            ),
            install_latest_aws_sdk=False,
        )

    def _domain_settings(self, custom_domain: CustomDomain | None) -> dict[str, Any]:
        """Name, certificate and TLS policy; none of them applies without a custom domain."""
        if custom_domain is None:
            return {}
        return {
            "domain_names": [custom_domain.domain_name],
            "certificate": acm.Certificate.from_certificate_arn(
                self, "Certificate", custom_domain.certificate_arn
            ),
            "minimum_protocol_version": cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
        }

    def url(self, path: str = "") -> str:
        """The public HTTPS URL of a path in the feeds bucket."""
        return f"https://{self.domain_name}/{path}"
