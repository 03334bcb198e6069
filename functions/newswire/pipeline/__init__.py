"""The engine: batches of article changes in, each feed they touch rendered once out
(``publisher``, ``feedwriter``), and the reindex's phases (``reindex``), whatever runs them."""
