"""The auditor's web UI (``/ui``): server-rendered, read-only pages over the store.

It sits beside the GraphQL API, above the services and the renderers: it reads
through the services, draws with :mod:`tracegraph.render`, and never writes.
"""
