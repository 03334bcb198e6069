"""Helpers any test may use: strict feed validators (``feedcheck``) and factories."""
