"""Reading what writers write: articles (Markdown or JSON) and the site configuration."""
