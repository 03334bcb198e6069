"""newswire: articles in a bucket become RSS 2.0, Atom 1.0 and JSON Feed 1.1 feeds.

The package is laid out by architecture: ``domain`` (plain typed data and rules, no AWS),
``content`` (reading articles and the site config), ``rendering`` (HTML and the three feed
formats), ``adapters`` (storage backends), ``handlers`` (Lambda entry points) and ``cli``.
"""

__version__ = "0.1.0"
