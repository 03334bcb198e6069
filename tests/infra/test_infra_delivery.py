"""CloudFront in front of the private feeds bucket."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from newswire_infra import CustomDomain, Settings

from newswire.rendering.directory import PAGE_PATH
from tests.infra.stacks import Synthesized


def test_origin_access_control_signs_requests_to_s3(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": Match.object_like(
                {
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            )
        },
    )


def test_distribution_reads_the_feeds_bucket_through_oac(default_stack: Synthesized) -> None:
    config = default_stack.properties("AWS::CloudFront::Distribution", "Delivery")[
        "DistributionConfig"
    ]
    (origin,) = config["Origins"]
    feeds_id = default_stack.logical_id("AWS::S3::Bucket", "StorageFeeds")
    assert origin["DomainName"] == {"Fn::GetAtt": [feeds_id, "RegionalDomainName"]}
    assert "OriginAccessControlId" in origin
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}


def test_only_this_distribution_may_read_the_feeds_bucket(default_stack: Synthesized) -> None:
    feeds_id = default_stack.logical_id("AWS::S3::Bucket", "StorageFeeds")
    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in default_stack.resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": feeds_id}
    ]
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    # Only this distribution may read the feeds, not any CloudFront distribution of any account.
    (distribution,) = default_stack.resources("AWS::CloudFront::Distribution")
    assert allow["Condition"]["StringEquals"]["AWS:SourceArn"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":cloudfront::",
                {"Ref": "AWS::AccountId"},
                ":distribution/",
                {"Ref": distribution},
            ],
        ]
    }


def test_viewers_get_https_compressed_cached_feeds_with_security_headers(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "DefaultCacheBehavior": Match.object_like(
                        {
                            "ViewerProtocolPolicy": "redirect-to-https",
                            "Compress": True,
                            "AllowedMethods": ["GET", "HEAD"],
                            "CachePolicyId": {
                                "Ref": Match.string_like_regexp("^DeliveryFeedCaching")
                            },
                            "ResponseHeadersPolicyId": {
                                "Ref": Match.string_like_regexp("^DeliverySecurityHeaders")
                            },
                        }
                    ),
                    "DefaultRootObject": "index.html",
                    "Logging": Match.object_like({"Prefix": "cloudfront/"}),
                }
            )
        },
    )


def test_cache_policy_revalidates_with_s3_unless_told_otherwise_and_compresses(
    template: Template,
) -> None:
    # MinTTL 0 lets the feeds' `s-maxage=0` make CloudFront revalidate every request with S3
    # (a 304 when unchanged), and DefaultTTL 0 does the same for an object without
    # Cache-Control: a hub pinged right after a write fetches the new feed, never a stale copy.
    template.has_resource_properties(
        "AWS::CloudFront::CachePolicy",
        {
            "CachePolicyConfig": Match.object_like(
                {
                    "MinTTL": 0,
                    "DefaultTTL": 0,
                    "MaxTTL": 86400,
                    "ParametersInCacheKeyAndForwardedToOrigin": Match.object_like(
                        {"EnableAcceptEncodingGzip": True, "EnableAcceptEncodingBrotli": True}
                    ),
                }
            )
        },
    )


def test_response_headers_policy_sets_security_headers_and_open_cors(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudFront::ResponseHeadersPolicy",
        {
            "ResponseHeadersPolicyConfig": Match.object_like(
                {
                    "SecurityHeadersConfig": {
                        "StrictTransportSecurity": Match.object_like(
                            {"AccessControlMaxAgeSec": 730 * 86400, "IncludeSubdomains": True}
                        ),
                        "ContentTypeOptions": {"Override": True},
                        "FrameOptions": {"FrameOption": "DENY", "Override": True},
                        "ReferrerPolicy": Match.object_like(
                            {"ReferrerPolicy": "strict-origin-when-cross-origin"}
                        ),
                    },
                    "CorsConfig": Match.object_like(
                        {
                            "AccessControlAllowOrigins": {"Items": ["*"]},
                            "AccessControlAllowMethods": {"Items": ["GET", "HEAD"]},
                            "AccessControlAllowCredentials": False,
                        }
                    ),
                }
            )
        },
    )


def test_without_custom_domain_cloudfront_uses_its_default_certificate(
    default_stack: Synthesized,
) -> None:
    config = default_stack.properties("AWS::CloudFront::Distribution", "Delivery")[
        "DistributionConfig"
    ]
    assert "Aliases" not in config
    assert "ViewerCertificate" not in config


def test_custom_domain_uses_its_certificate_with_tls_12(full_stack: Synthesized) -> None:
    full_stack.template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "Aliases": ["feeds.example.com"],
                    "ViewerCertificate": {
                        "AcmCertificateArn": Match.string_like_regexp(r"^arn:aws:acm:us-east-1:"),
                        "MinimumProtocolVersion": "TLSv1.2_2021",
                        "SslSupportMethod": "sni-only",
                    },
                }
            )
        },
    )


def test_certificate_outside_us_east_1_is_refused() -> None:
    with pytest.raises(ValueError, match="us-east-1"):
        CustomDomain(
            "feeds.example.com",
            "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
        )


def test_domain_name_without_certificate_is_refused() -> None:
    app = cdk.App(context={"domain_name": "feeds.example.com"})
    with pytest.raises(ValueError, match="certificate_arn"):
        Settings.from_context(app.node)


def test_settings_read_from_context() -> None:
    app = cdk.App(
        context={
            "domain_name": "feeds.example.com",
            "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
            "alarm_email": "ops@example.com",
            "base_url": "https://englishnews.example/",
        }
    )
    settings = Settings.from_context(app.node)
    assert settings.custom_domain == CustomDomain(
        "feeds.example.com", "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    )
    assert settings.alarm_email == "ops@example.com"
    assert settings.base_url == "https://englishnews.example/"
    assert settings.layer_dir is None


def test_missing_feed_is_a_404_with_a_small_page(default_stack: Synthesized) -> None:
    config = default_stack.properties("AWS::CloudFront::Distribution", "Delivery")[
        "DistributionConfig"
    ]
    # S3 answers 403 for a missing key when the reader (CloudFront's OAC) may not list.
    assert config["CustomErrorResponses"] == [
        {
            "ErrorCode": 403,
            "ResponseCode": 404,
            "ResponsePagePath": "/_errors/404.html",
            "ErrorCachingMinTTL": 0,
        }
    ]
    (page,) = default_stack.resources("Custom::AWS").values()
    parts = page["Properties"]["Create"]["Fn::Join"][1]
    feeds_id = default_stack.logical_id("AWS::S3::Bucket", "StorageFeeds")
    assert [p for p in parts if not isinstance(p, str)] == [{"Ref": feeds_id}]
    create = json.loads("".join(p if isinstance(p, str) else "feeds" for p in parts))
    assert create["service"] == "S3"
    assert create["action"] == "putObject"
    assert create["parameters"]["Key"] == "_errors/404.html"
    assert create["parameters"]["ContentType"] == "text/html; charset=utf-8"
    assert "<h1>Not found</h1>" in create["parameters"]["Body"]


def test_cloudfront_names_include_the_region_so_two_regions_can_deploy(
    default_stack: Synthesized,
) -> None:
    # CloudFront policies, functions and origin access controls are global to the account.
    names = {
        "AWS::CloudFront::CachePolicy": ("CachePolicyConfig", "Name"),
        "AWS::CloudFront::ResponseHeadersPolicy": ("ResponseHeadersPolicyConfig", "Name"),
        "AWS::CloudFront::OriginAccessControl": ("OriginAccessControlConfig", "Name"),
        "AWS::CloudFront::Function": ("Name",),
    }
    for resource_type, path in names.items():
        for logical_id, resource in default_stack.resources(resource_type).items():
            name: Any = resource["Properties"]
            for key in path:
                name = name[key]
            assert {"Ref": "AWS::Region"} in name["Fn::Join"][1], logical_id


def test_the_cdn_root_is_the_feed_directory_the_pipeline_writes(
    default_stack: Synthesized,
) -> None:
    """``/`` at the CDN is ``index.html`` at the feeds bucket's root: the page the pipeline
    writes there, where ``feeds_url`` (the distribution's root) puts it."""
    config = default_stack.properties("AWS::CloudFront::Distribution", "Delivery")[
        "DistributionConfig"
    ]
    assert config["DefaultRootObject"] == PAGE_PATH
    (origin,) = config["Origins"]
    assert origin.get("OriginPath", "") == ""  # the bucket's root is the CDN's
    assert config["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]
