"""A shop's logo and seal as stored (the admin's preview): served only to the tenant that owns the settings."""

from __future__ import annotations

import mimetypes

from django.http import FileResponse, Http404

from backyard.http import TenantRequest
from backyard.views import tenant_required

from ..selectors import access_settings


def _image(request: TenantRequest, settings_id: int, field: str) -> FileResponse:
    row = access_settings(request.tenant, settings_id)
    image = getattr(row, field)
    if not image:
        raise Http404
    try:
        handle = image.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@tenant_required
def settings_logo(request: TenantRequest, settings_id: int) -> FileResponse:
    return _image(request, settings_id, "logo")


@tenant_required
def settings_seal(request: TenantRequest, settings_id: int) -> FileResponse:
    return _image(request, settings_id, "seal")
