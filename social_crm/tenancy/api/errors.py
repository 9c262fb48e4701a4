from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """DRF's handler, plus: an action's Django ValidationError is a 400 with field errors; a 429
    says in its body too when to come back (``retry_after``, the ``Retry-After`` header's seconds)."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    response = drf_exception_handler(exc, context)
    if isinstance(exc, exceptions.Throttled) and response is not None and exc.wait is not None:
        response.data = {**response.data, "retry_after": exc.wait}
    return response
