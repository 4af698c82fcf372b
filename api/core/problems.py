"""HTTP problems (RFC 9457): the one shape of every error body the api sends."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


def problem_response(code: str, status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"type": f"urn:problem:{code}", "title": code.replace("_", " "), "status": status, "detail": detail, **extra},
        status_code=status,
        media_type="application/problem+json",
    )
