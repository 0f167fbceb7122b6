"""Sources kept in sync: pages, feeds, sitemaps, MediaWiki wikis (API and XML dumps), PDF files."""
