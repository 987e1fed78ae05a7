"""A local, stateful emulator of the DigitalOcean API v2 for Seaworthy's tests.

It answers like DigitalOcean (shapes, status codes, lifecycles, pagination,
rate limits, errors per ../shared/do-openapi), optionally checks every
exchange against the official OpenAPI spec, injects faults on request, and
delegates what a resource *is* to a backend (in memory by default; real
containers with issue 4's docker backing).

It lives under tests/ and is never imported by the collection's plugins: they
reach it over HTTP(S) through `api_url` / DIGITALOCEAN_API_URL.
"""
