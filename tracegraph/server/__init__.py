"""The server: Starlette + Uvicorn over one store (GraphQL, OTLP/HTTP, health)."""

from .app import create_app

__all__ = ["create_app"]
