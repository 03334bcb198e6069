"""The incremental publish pipeline: one article change in, the feeds it touches out."""
