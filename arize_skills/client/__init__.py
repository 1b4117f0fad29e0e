"""The shared async API client for the Arize AX REST API v2 (and the local engine, which speaks the same API)."""

from ._client import DEFAULT_TIMEOUT, AsyncArizeClient
from ._http import RetryPolicy
from ._paginator import AsyncPaginator, Page

__all__ = ["DEFAULT_TIMEOUT", "AsyncArizeClient", "AsyncPaginator", "Page", "RetryPolicy"]
