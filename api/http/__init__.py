"""HTTP in and out of the app: the ASGI app and its middleware, tokens, bodies and limits, CORS,
persisted queries, the HTTP protocol."""
