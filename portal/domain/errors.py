"""Errors the domain raises; each carries the inbox error category it maps to."""

from __future__ import annotations

from typing import Any

from portal.models import ErrorCategory


class DomainError(Exception):
    """A rule refused an operation; nothing was changed."""

    category: ErrorCategory = ErrorCategory.INTERNAL

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class AuthorizationError(DomainError):
    category = ErrorCategory.AUTHORIZATION


class ValidationError(DomainError):
    category = ErrorCategory.VALIDATION


class ConfigurationError(DomainError):
    category = ErrorCategory.CONFIGURATION


class ConflictError(DomainError):
    """Someone else changed the record meanwhile; ``changes`` says what differs."""

    category = ErrorCategory.CONFLICT

    def __init__(
        self, message: str, field: str | None = None, changes: dict[str, Any] | None = None
    ):
        super().__init__(message, field)
        self.changes = changes or {}
