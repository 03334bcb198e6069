"""``newswire check CONTENT``: what each enabled partner would refuse or downgrade, and
what valid articles publish unlike their writer would expect (a withdrawal with no date:
see :mod:`newswire.content.warnings`).

Every article of the folder is read as ``newswire build`` reads it, and each partner feed
rendered as the build renders it, so a feed is judged on what it would hold (its items after
its byte limit, each item's size). Each finding is one line on stdout, ``<file>: <partner>:
<field>: <problem>, expected <rule>`` (and one per partner feed, such as Flipboard's item
floor), a rejected article as the build reports it, a warning as ``<file>: <field>: …``;
what is not a finding (the summary, a site with no partner) goes to stderr, so stdout holds
findings alone. Exit status: 0 when nothing is listed, 1 when anything is (a rejected
article too, whether or not a partner is enabled), 2 when ``site.yaml`` or the folder cannot
be read.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from newswire.adapters.local import LocalContent
from newswire.buildpartners import (
    build_findings,
    judged_articles,
    main_feed_articles,
    partner_files,
)
from newswire.content.articles import ArticleInput, read_articles
from newswire.content.site import parse_site
from newswire.content.warnings import article_warnings
from newswire.domain.text import counted
from newswire.errors import InvalidArticleError, NewswireError


def check_command(content: Path, now: datetime) -> int:
    """List what the partners enabled in ``content``'s ``site.yaml`` would refuse, and the
    articles' warnings; return the exit status (see the module docstring).

    Args:
        content: the content folder.
        now: when the partners would read the articles (their age rules).
    """
    source = LocalContent(content)
    try:
        site = parse_site(source.site_key(), source.read_site())
        files = source.article_files()
    except NewswireError as e:
        print(f"newswire: {e}", file=sys.stderr)
        return 2
    sources: list[tuple[str, bytes]] = []
    unreadable: list[InvalidArticleError] = []
    for file in files:
        data = file.read()
        if isinstance(data, InvalidArticleError):
            unreadable.append(data)
        else:
            sources.append((file.key, data))
    articles, parsed_rejected = read_articles(sources, site)
    rejected = sorted([*unreadable, *parsed_rejected], key=lambda error: error.key)
    warnings = article_warnings(articles, now)
    if not site.partners:
        for line in [*map(str, rejected), *warnings]:
            print(line)
        listed = [f"{len(rejected)} rejected"] if rejected else []
        listed += [counted(len(warnings), "warning")] if warnings else []
        print(
            "newswire: no partner enabled (partners: in site.yaml), nothing to check"
            + (f" but {', '.join(listed)}" if listed else ""),
            file=sys.stderr,
        )
        return 1 if rejected or warnings else 0
    by_key: dict[str, ArticleInput] = {source[0]: source for source in sources}
    feeds = partner_files(main_feed_articles(articles, site, now), by_key, site)
    findings = build_findings(articles, site, now, feeds)
    for error in rejected:
        print(error)
    for line in [*warnings, *map(str, findings)]:
        print(line)
    names = ", ".join(feed.partner for feed in site.partners)
    judged = len(judged_articles(articles, now))
    print(
        f"newswire: {counted(len(findings), 'partner finding')} ({names}) in "
        f"{counted(judged, 'article')}, {len(rejected)} rejected"
        + (f", {counted(len(warnings), 'warning')}" if warnings else ""),
        file=sys.stderr,
    )
    return 1 if findings or rejected or warnings else 0
