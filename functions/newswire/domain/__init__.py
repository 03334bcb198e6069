"""Articles, feeds and their rules as plain, typed Python: nothing here knows about AWS."""
