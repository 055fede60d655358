"""The web face: REST API, CKAN-compatible API (later) and server-rendered pages."""
