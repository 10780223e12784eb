"""One JSON shape for every error: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from soloist.errors import SoloistError, ValidationError

OUT_OF_RANGE = (
    "A value is out of range or not allowed here: an id or a number too large for the database, "
    "a date beyond what it stores, or a character it refuses (NUL)."
)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorPublic(BaseModel):
    """The body of every error answer (for ``responses={409: {"model": ErrorPublic}}``)."""

    error: ErrorDetail


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


# Given the request and the error, an HTML answer for a web page, or None for the JSON shape.
PageErrorHook = Callable[[Request, Exception], Response | None]


def install_error_handlers(app: FastAPI, pages: PageErrorHook | None = None) -> None:
    """JSON errors for the API; ``pages`` may answer first for web-page requests."""

    @app.exception_handler(SoloistError)
    async def soloist_error(request: Request, exc: SoloistError) -> Response:
        if pages is not None and (page := pages(request, exc)) is not None:
            return page
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        if exc.http_status == 429 and "retry_after" in exc.details:
            headers = {"Retry-After": str(exc.details["retry_after"])}
        return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)

    async def out_of_range(request: Request, exc: Exception) -> Response:
        """What the database refused as out of its range (an id above its integer type, a NUL
        in a string on PostgreSQL) or Python could not represent (a date past year 9999): bad
        input, answered 422 like any other, never a 500."""
        return await soloist_error(request, ValidationError(OUT_OF_RANGE))

    app.add_exception_handler(DataError, out_of_range)
    app.add_exception_handler(OverflowError, out_of_range)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if pages is not None and (page := pages(request, exc)) is not None:
            return page
        problems = [
            {
                "field": ".".join(str(part) for part in error["loc"] if part != "body"),
                "message": error["msg"],
            }
            for error in exc.errors()
        ]
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse(
            error_body("validation_error", message, {"errors": problems}), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if pages is not None and (page := pages(request, exc)) is not None:
            return page
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)
