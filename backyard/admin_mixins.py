"""Scoping Django admin to the tenant of the tenant admin using it. Superusers see everything."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.translation import gettext as _

from .dates import in_range
from .models import Tenant, TenantOwned

if TYPE_CHECKING:  # what the mixins are mixed into, for the type checker; at run time they stand alone
    _Admin = admin.ModelAdmin[Any]
    _AnyAdmin = admin.options.BaseModelAdmin[Any]
else:
    _Admin = _AnyAdmin = object


def is_superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def is_tenant_admin(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return bool(request.user.is_active and request.user.is_staff and membership is not None and membership.is_admin)


def _scoped_queryset(model: type[models.Model], request: HttpRequest, qs: models.QuerySet) -> models.QuerySet:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return qs.none()
    if issubclass(model, TenantOwned):
        return qs.filter(tenant_id=tenant.pk)
    if model is Tenant:
        return qs.filter(pk=tenant.pk)
    return qs


def _is_relation(model: type[models.Model], path: str) -> bool:
    try:
        return bool(get_fields_from_path(model, path)[-1].is_relation)
    except (FieldDoesNotExist, NotRelationField):
        return False


def request_tenant(request: HttpRequest) -> Tenant:
    """The tenant admin's own company (the admin asks only for requests that passed its permission checks)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        raise PermissionDenied
    return tenant


class TenantRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A list filter on a relation that offers only the current tenant's rows (Django's offers all)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        related = field.related_model
        allowed = _scoped_queryset(related, request, related._default_manager.all())
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": allowed.values("pk")}, ordering=ordering
        )


def _tenant_form(form_class: type[ModelForm], tenant: Tenant) -> type[ModelForm]:
    """A form whose new instance already belongs to `tenant`, so model validation sees the tenant."""

    class TenantBoundForm(form_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if getattr(self.instance, "tenant_id", None) is None:
                self.instance.tenant = tenant

        def _get_validation_exclusions(self) -> set[str]:
            # The tenant is not a form field but it is set: keep it in validation, so a name taken within
            # the tenant (UniqueConstraint on tenant + name) is a form error, not an IntegrityError.
            return set(super()._get_validation_exclusions()) - {"tenant"}

    TenantBoundForm.__name__ = form_class.__name__
    return TenantBoundForm


class RightsBeforeLookupMixin(_Admin):
    """Django's history view looks the object up before checking rights, so a staff user without rights
    could tell an existing id (403) from a missing one (redirect). Check the rights first, as the change
    and delete views do."""

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)


class TenantPermissionMixin(_AnyAdmin):
    """Role-based rights: superusers, and owners/admins of the current tenant for their own rows."""

    def _allowed(self, request: HttpRequest) -> bool:
        return is_superuser(request) or is_tenant_admin(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)


class TenantScopedFieldsMixin(_AnyAdmin):
    """Foreign-key and many-to-many choices limited to the tenant's rows for non-superusers."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not is_superuser(request):
            related = db_field.related_model
            base = kwargs.get("queryset") or related._default_manager.all()
            kwargs["queryset"] = _scoped_queryset(related, request, base)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not is_superuser(request):
            related = db_field.related_model
            base = kwargs.get("queryset") or related._default_manager.all()
            kwargs["queryset"] = _scoped_queryset(related, request, base)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


HIERARCHY_PARTS = ("year", "month", "day")


def _hierarchy_day(values: dict[str, list[str]]) -> dt.date | None:
    """The first day the date hierarchy's parameters stand for, or None when they stand for none."""
    numbers = {}
    for part, given in values.items():
        if not given or not all(value.isascii() and value.isdigit() and len(value) <= 4 for value in given):
            return None
        numbers[part] = int(given[-1])  # the value Django reads
    if "year" not in numbers:
        return None
    try:
        return dt.date(numbers["year"], numbers.get("month", 1), numbers.get("day", 1))
    except ValueError:
        return None


class DateHierarchyGuardMixin(_Admin):
    """The changelist's date hierarchy with an absurd date in the URL (?ordered_at__year=9999): Django would
    work out the year after it (a 500) or answer the bare "?e=1" page. Refuse it with a message instead, and
    show the list without the date (the rest of the URL kept)."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        field = self.date_hierarchy
        if field:
            names = {part: f"{field}__{part}" for part in HIERARCHY_PARTS}
            given = {part: request.GET.getlist(name) for part, name in names.items() if name in request.GET}
            if given:
                day = _hierarchy_day(given)
                if day is None or not in_range(day):
                    messages.error(request, _("Cannot filter by that date: choose a date between 2000 and 2100."))
                    query = request.GET.copy()
                    for name in names.values():
                        query.pop(name, None)
                    return HttpResponseRedirect(f"{request.path}?{query.urlencode()}" if query else request.path)
        return super().changelist_view(request, extra_context)


class TenantAdminMixin(DateHierarchyGuardMixin, TenantPermissionMixin, TenantScopedFieldsMixin):
    """For ModelAdmins of TenantOwned models: list, change, choices and saves scoped to the tenant."""

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        qs = super().get_queryset(request)
        return qs if is_superuser(request) else _scoped_queryset(self.model, request, qs)

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])
        if not is_superuser(request):
            exclude.append("tenant")
        return exclude

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = list(super().get_list_filter(request))
        if is_superuser(request):
            return filters
        model = self.model
        return [
            (f, TenantRelatedFieldListFilter) if isinstance(f, str) and _is_relation(model, f) else f
            for f in filters
            if f != "tenant"
        ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return form if is_superuser(request) else _tenant_form(form, request_tenant(request))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not is_superuser(request):
            obj.tenant = request_tenant(request)
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: BaseInlineFormSet, change: bool) -> None:
        # Inline rows belong to the parent's tenant, whoever edits them. Set before the formset saves, so
        # it saves row by row (sortable inlines number each new row after the one saved before it).
        for inline_form in formset.forms:
            if isinstance(inline_form.instance, TenantOwned):
                inline_form.instance.tenant_id = form.instance.tenant_id
        formset.save()

    # django-admin-sortable2: reordering only touches the tenant's rows.
    def get_extra_model_filters(self, request: HttpRequest) -> dict[str, Any]:
        if is_superuser(request):
            return {}
        return {"tenant_id": request_tenant(request).pk}

    def get_max_order(self, request: HttpRequest, obj: Any = None) -> int:
        qs = self.model.objects.all()
        tenant_id = getattr(obj, "tenant_id", None) or getattr(getattr(request, "tenant", None), "pk", None)
        if tenant_id is not None:
            qs = qs.filter(tenant_id=tenant_id)
        field = getattr(self, "default_order_field")  # noqa: B009 - django-admin-sortable2's, where mixed in
        return qs.aggregate(m=models.Max(field))["m"] or 0


class TenantInlineMixin(TenantPermissionMixin, TenantScopedFieldsMixin):
    """For inlines of TenantOwned rows: the tenant column is set from the parent, never chosen."""

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*(super().get_exclude(request, obj) or []), "tenant"]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        qs = super().get_queryset(request)
        return qs if is_superuser(request) else _scoped_queryset(self.model, request, qs)


class TenantOwnedAdmin(TenantAdminMixin, admin.ModelAdmin):
    pass
