"""One error tree for the whole product.

Every error has a stable machine-readable ``code`` and the HTTP status the API answers with,
so the CLI, the API and the web app can report it the same way.
"""

from __future__ import annotations

from typing import Any


class SoloistError(Exception):
    """Base of every error Soloist raises on purpose."""

    code: str = "soloist_error"
    http_status: int = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ConfigurationError(SoloistError):
    code = "configuration_error"
    http_status = 500


class ValidationError(SoloistError):
    """Input that breaks a rule; ``details`` name the field."""

    code = "validation_error"
    http_status = 422


class UsageError(ValidationError):
    """A command asked for something that does not exist (an unknown kind, format, model or
    method): the CLI exits 2, as for any other usage error."""


class NotFoundError(SoloistError):
    code = "not_found"
    http_status = 404


class ConflictError(SoloistError):
    code = "conflict"
    http_status = 409


class InsufficientPointsError(ConflictError):
    code = "insufficient_points"


class AuthenticationError(SoloistError):
    code = "authentication_failed"
    http_status = 401


class TooManyAttemptsError(SoloistError):
    """Too many failed sign-ins: ``details["retry_after"]`` says in how many seconds to retry."""

    code = "too_many_attempts"
    http_status = 429


class WebhookSignatureError(AuthenticationError):
    """A webhook delivery whose signature is missing, malformed, stale or wrong."""

    code = "webhook_signature_invalid"


class WebhookNotConfiguredError(SoloistError):
    """A webhook was called whose provider has no signing secret set."""

    code = "webhook_not_configured"
    http_status = 503


class BusyError(SoloistError):
    """The database stayed busy with other writers for too long; the same request may succeed
    in a moment (a webhook provider retries a 503 by itself)."""

    code = "busy"
    http_status = 503


class PermissionDeniedError(SoloistError):
    code = "permission_denied"
    http_status = 403


class EncryptionError(SoloistError):
    """A value could not be encrypted or decrypted (wrong key, tampered data)."""

    code = "encryption_error"
    http_status = 500


class ImportRefusedError(SoloistError):
    """A file was refused; nothing was written. ``details['errors']`` lists row/column/message."""

    code = "import_refused"
    http_status = 422


class AnalyticsInputError(SoloistError, ValueError):
    """Data that a metric or model cannot use (empty, out of range, unidentifiable)."""

    code = "analytics_input_error"
    http_status = 422


class TemplateError(ValidationError):
    """A campaign template that does not compile or render; ``details`` name its part and line."""

    code = "template_error"


class ChannelNotConfiguredError(SoloistError):
    """A message channel is used whose settings are missing (no SMTP host, no From)."""

    code = "channel_not_configured"
    http_status = 503


class ChannelUnavailableError(SoloistError):
    """The channel's server cannot be reached or refuses us (not one recipient): nothing more
    is sent now; the same send continues where it stopped once the server is back."""

    code = "channel_unavailable"
    http_status = 503
