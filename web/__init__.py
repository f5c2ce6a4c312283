"""The output adapter: the Starlette app (page, SSE stream, JSON API) and its static files."""
