"""Access helpers for views."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied


def admin_required(view):
    """Only administrators (is_staff) may open the view; others get 403. Login is enforced globally."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not (request.user.is_authenticated and request.user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
