"""DigitalOcean's error shape: `{id, message, request_id}` with the matching HTTP status."""

from __future__ import annotations

ERROR_IDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    412: "precondition_failed",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "server_error",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class ApiError(Exception):
    """Raised by handlers; the app turns it into DigitalOcean's error response."""

    def __init__(self, status: int, message: str, error_id: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_id = error_id or ERROR_IDS.get(status, "error")
        self.headers = headers or {}


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, f"The {what} you were accessing could not be found.")


def unprocessable(message: str) -> ApiError:
    return ApiError(422, message)
