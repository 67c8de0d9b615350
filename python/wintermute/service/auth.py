"""Authentication: the ``X-API-Key`` header names an ``ApiKey`` (``wintermute.service.keys``).

A missing or unknown key is a 401; admin-only routes answer 403 to other keys. Routes take
the key as a dependency (``key: ApiKey = Depends(api_key)``); the key itself is never logged.
"""

from __future__ import annotations

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from wintermute.service.error_responses import ApiError
from wintermute.service.keys import ApiKey, KeyStore

__all__ = ["HEADER", "admin_key", "api_key"]

HEADER = "X-API-Key"
_scheme = APIKeyHeader(name=HEADER, auto_error=False, description="An API key of the service")


async def api_key(request: Request, key: str | None = Security(_scheme)) -> ApiKey:
    """The request's API key; 401 when missing or unknown."""
    store: KeyStore = request.app.state.keys
    found = store.lookup(key)
    if found is None:
        message = "missing X-API-Key header" if not key else "unknown API key"
        raise ApiError(401, "UNAUTHORIZED", message, {"WWW-Authenticate": "ApiKey"})
    request.state.api_key = found
    return found


async def admin_key(request: Request, key: str | None = Security(_scheme)) -> ApiKey:
    """The request's API key, which must have the admin role (403 otherwise)."""
    found = await api_key(request, key)
    if not found.is_admin:
        raise ApiError(403, "FORBIDDEN", "this needs an admin key")
    return found
