"""Domain errors. Each message is safe to show to whoever made the request; each face maps
these once (a JSON error, a status and text, a page)."""


class DomainError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    """The request itself is malformed (a parameter that is not a number…)."""
    status = 400


class Invalid(DomainError):
    """The input breaks a rule (too long, unknown visibility…)."""
    status = 422


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Unauthorized(DomainError):
    status = 401


class Conflict(DomainError):
    status = 409


class Gone(DomainError):
    status = 410


class TooManyRequests(DomainError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
