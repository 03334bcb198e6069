"""How readers get the feeds: a CloudFront distribution in front of the private feeds bucket."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from newswire_infra.checkov import skip_checks

#: Feed files at the root of the feeds bucket (see ``newswire.domain.feeds.FeedFormat``).
FEED_FILES = {"Rss": "rss.xml", "Atom": "atom.xml", "Json": "feed.json"}

#: Caching honours each object's Cache-Control; these apply when an object has none.
DEFAULT_TTL = Duration.seconds(60)
MAX_TTL = Duration.days(1)
HSTS_MAX_AGE = Duration.days(730)
#: The viewer-response function that lets browsers style feeds (see the file).
BROWSER_VIEW_FUNCTION = Path(__file__).with_name("browser_view.js")

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
            comment="newswire feeds: honour Cache-Control, short default TTL",
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
                origin=origins.S3BucketOrigin.with_origin_access_control(feeds_bucket),
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
            default_root_object="index.html",
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
        self.domain_name = (
            custom_domain.domain_name
            if custom_domain
            else self.distribution.distribution_domain_name
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
