"""Rendering: article bodies to safe HTML, and feeds to RSS 2.0, Atom 1.0 and JSON Feed 1.1."""
