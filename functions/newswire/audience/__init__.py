"""Who reads the feeds: subscriber counts from CDN access logs, with no raw address kept.

- :mod:`~newswire.audience.logformat` reads and writes CloudFront standard log lines;
- :mod:`~newswire.audience.agents` tells hosted services, feed readers, browsers and bots
  apart by User-Agent, and reads the subscriber counts services report;
- :mod:`~newswire.audience.counting` turns requests into per-feed, per-day aggregates and
  the counts of a window of days;
- :mod:`~newswire.audience.report` prints them as a table, JSON or an HTML page;
- :mod:`~newswire.audience.command` is ``newswire stats``.

Plain Python, no AWS: the log processor and rollup Lambdas use the same rules.
"""

#: Days a reader counts for after its last fetch: the window of every count.
WINDOW_DAYS = 7
