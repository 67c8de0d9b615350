"""Every error the service answers is JSON ``{"code": ..., "message": ...}`` with a 4xx status
for anything the client did wrong; a 500 means a bug. This module maps ``VenueError`` codes to
statuses and installs the handlers on the app (FastAPI's validation errors included)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from wintermute.service.venue_records import VenueError

__all__ = ["STATUS_OF_CODE", "ApiError", "error_body", "install_error_handlers"]

log = logging.getLogger("wintermute.service")

#: VenueError code -> HTTP status (codes not listed: 400).
STATUS_OF_CODE = {
    "UNKNOWN_ORDER": 404,
    "FORBIDDEN": 403,
    "DUPLICATE_CLIENT_ORDER_ID": 409,
    "INSUFFICIENT_BALANCE": 422,
    "RISK_REJECTED": 422,
    "BOOK_REJECTED": 422,
    "KILL_SWITCH": 422,
    "UNAVAILABLE": 503,
}

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


class ApiError(Exception):
    """An error the API answers as it is: status, code, message, extra headers."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of an error."""
    return {"code": code, "message": message, **extra}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """JSON error bodies for venue errors, API errors, HTTP errors and validation errors."""

    @app.exception_handler(VenueError)
    async def venue_error(request: Request, exc: VenueError) -> JSONResponse:
        body = error_body(exc.code, exc.message)
        if exc.reason:
            body["reason"] = exc.reason
        return JSONResponse(body, status_code=STATUS_OF_CODE.get(exc.code, 400))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("INVALID_REQUEST", _validation_message(exc)), 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return JSONResponse(error_body("INTERNAL", "internal error"), 500)
