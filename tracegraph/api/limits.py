"""Limits that keep one client from taking the server, and errors without stack traces.

Depth (10), tokens (4,000) and aliases (30) are checked before a query runs;
page sizes in the resolvers; a deadline between resolvers.  Every error goes
back as a GraphQL error with ``extensions.code``: ``NOT_FOUND``,
``BAD_INPUT``, ``FORBIDDEN``, ``LIMIT``, ``TIMEOUT``, ``STORE`` or
``INTERNAL``; an unexpected error says only that it happened and is logged
on the server with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, ParserCache, \
    QueryDepthLimiter, SchemaExtension, ValidationCache

from ..errors import InputError, NotFound, StoreError, TracegraphError
from .context import ApiError

__all__ = ["limits", "MAX_DEPTH", "MAX_TOKENS", "MAX_ALIASES", "ErrorCodes"]

MAX_DEPTH = 10
MAX_TOKENS = 4000
MAX_ALIASES = 30
log = logging.getLogger("tracegraph.api")


def _code(error: BaseException | None) -> str:
    if isinstance(error, ApiError):
        return error.code
    if isinstance(error, NotFound):
        return "NOT_FOUND"
    if isinstance(error, InputError):
        return "BAD_INPUT"
    if isinstance(error, StoreError):
        return "STORE"
    if isinstance(error, TracegraphError):
        return "BAD_INPUT"
    return "INTERNAL"


class ErrorCodes(SchemaExtension):
    """Give every error a code, and hide what an unexpected error would reveal."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        cleaned = []
        for error in result.errors:
            original = error.original_error
            if original is None:  # validation: depth, tokens, syntax, unknown fields
                code = "LIMIT" if "exceeds maximum" in error.message else "BAD_INPUT"
                cleaned.append(GraphQLError(error.message, nodes=error.nodes,
                                            path=error.path, extensions={"code": code}))
                continue
            code = _code(original)
            message = error.message
            if code == "INTERNAL":
                log.error("unexpected error in %s", error.path, exc_info=original)
                message = "internal error (logged on the server)"
            cleaned.append(GraphQLError(message, nodes=error.nodes, path=error.path,
                                        extensions={"code": code}))
        result.errors = cleaned


def limits() -> list[Any]:
    """Fresh extension instances per request, as Strawberry wants; parsing and
    validating a query text is cached (dashboards send the same few queries)."""
    return [lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256),
            ErrorCodes]
