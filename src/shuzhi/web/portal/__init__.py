"""The public open-data portal (开放门户): search, dataset pages, downloads, sitemap; no login."""
