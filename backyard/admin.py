from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .admin_mixins import (
    RightsBeforeLookupMixin,
    TenantPermissionMixin,
    TenantScopedFieldsMixin,
    is_superuser,
    request_tenant,
)
from .models import Membership, Role, Tenant
from .provisioning import tenant_create
from .services import login_locks_release, membership_set, user_create_with_membership


@admin.register(Tenant)
class TenantAdmin(TenantPermissionMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Tenant]:
        qs = super().get_queryset(request)
        if is_superuser(request):
            return qs
        tenant = getattr(request, "tenant", None)
        return qs.filter(pk=tenant.pk) if tenant else qs.none()

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = tenant_create(name=obj.name, slug=obj.slug)
        obj.pk = created.pk
        obj.created_at = created.created_at


class NewMemberForm(forms.ModelForm):
    """A tenant admin adds a colleague: a new login with a role in this tenant."""

    username = forms.CharField(label=_("login name"), max_length=150)
    email = forms.EmailField(label=_("email"), required=False)
    password = forms.CharField(label=_("password"), widget=forms.PasswordInput, strip=False)

    class Meta:
        model = Membership
        fields = ["role"]

    tenant: Tenant | None = None  # the tenant adding the member, set by MembershipAdmin.get_form

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        taken = get_user_model().objects.filter(username=username)
        if self.tenant is not None and taken.filter(memberships__tenant=self.tenant).exists():
            raise forms.ValidationError(_("This login is already a member of this company."))
        if taken.exists():
            # Login names are global. Refuse without saying that the login exists, let alone in which
            # company: a tenant admin learns nothing about other tenants' logins from the wording.
            raise forms.ValidationError(_("This login name cannot be used. Choose another one."))
        return username

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        password = cleaned.get("password")
        if password:
            # The validators see the new login, so that a password like its login name or email is refused.
            user = get_user_model()(
                username=cleaned.get("username") or self.data.get(self.add_prefix("username"), ""),
                email=cleaned.get("email") or "",
            )
            try:
                validate_password(password, user)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


@admin.register(Membership)
class MembershipAdmin(TenantPermissionMixin, TenantScopedFieldsMixin, admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email"]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Membership]:
        qs = super().get_queryset(request).select_related("user", "tenant")
        if is_superuser(request):
            return qs
        tenant = getattr(request, "tenant", None)
        return qs.filter(tenant=tenant) if tenant else qs.none()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if is_superuser(request):
            return super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            kwargs["form"] = NewMemberForm
            kwargs["fields"] = ["role"]
            form = super().get_form(request, obj, change=change, **kwargs)
            return type(form.__name__, (form,), {"tenant": getattr(request, "tenant", None)})
        kwargs["fields"] = ["role"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if not is_superuser(request) and obj is None:
            return [(None, {"fields": ["username", "email", "password", "role"]})]
        if not is_superuser(request):
            return [(None, {"fields": ["role"]})]
        return super().get_fieldsets(request, obj)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        if is_superuser(request):
            saved = membership_set(tenant=obj.tenant, user=obj.user, role=obj.role)
            obj.pk = saved.pk
            return
        tenant = request_tenant(request)
        if change:
            membership_set(tenant=tenant, user=obj.user, role=obj.role)
            return
        user = user_create_with_membership(
            tenant=tenant,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
            email=form.cleaned_data.get("email", ""),
            role=form.cleaned_data["role"],
        )
        saved = Membership.objects.get(tenant=tenant, user=user)
        obj.pk, obj.user, obj.tenant = saved.pk, user, tenant

    @staticmethod
    def _manages_owners(request: HttpRequest) -> bool:
        membership = getattr(request, "membership", None)
        return is_superuser(request) or (membership is not None and membership.role == Role.OWNER)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A tenant admin cannot demote the owner; only an owner or a superuser changes owners.
        if obj is not None and obj.role == Role.OWNER and not self._manages_owners(request):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Removing the owner is a stronger demotion than changing their role.
        if obj is not None and obj.role == Role.OWNER and not self._manages_owners(request):
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Nor can a tenant admin hand out ownership, to a colleague or to themselves.
        if db_field.name == "role" and not self._manages_owners(request):
            kwargs["choices"] = [(value, label) for value, label in Role.choices if value != Role.OWNER]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


# Logins and groups are global: only superusers manage them, and nobody else may probe their ids.
admin.site.unregister(get_user_model())
admin.site.unregister(Group)


@admin.register(get_user_model())
class BackyardUserAdmin(RightsBeforeLookupMixin, UserAdmin):
    pass


@admin.register(Group)
class BackyardGroupAdmin(RightsBeforeLookupMixin, GroupAdmin):
    pass


@admin.register(AccessAttempt)
class LoginLockAdmin(TenantPermissionMixin, admin.ModelAdmin):
    """Failed logins (django-axes): a login name locked from an address, and the button that unlocks it. A
    tenant admin sees only the attempts on their own company's logins; a superuser sees all."""

    list_display = ["username", "ip_address", "failures_since_start", "is_locked", "attempt_time"]
    list_display_links = None  # nothing to edit: the list says it all, and "unlock" is the one action
    search_fields = ["username", "ip_address"]
    ordering = ["-attempt_time"]
    fields = readonly_fields = (
        "username",
        "ip_address",
        "failures_since_start",
        "attempt_time",
        "path_info",
        "user_agent",
    )
    actions = ["unlock"]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[AccessAttempt]:
        qs = super().get_queryset(request)
        if is_superuser(request):
            return qs
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return qs.none()
        members = get_user_model().objects.filter(memberships__tenant=tenant).values("username")
        return qs.filter(username__in=members)

    @admin.display(description=_("locked"), boolean=True)
    def is_locked(self, obj: AccessAttempt) -> bool:
        return obj.failures_since_start >= settings.AXES_FAILURE_LIMIT

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "unlock" says what deleting an attempt means
        return actions

    @admin.action(description=_("Unlock the selected logins"), permissions=["delete"])
    def unlock(self, request: HttpRequest, queryset: models.QuerySet[AccessAttempt]) -> None:
        count = login_locks_release(attempts=queryset)
        self.message_user(
            request, ngettext("%(count)d login unlocked.", "%(count)d logins unlocked.", count) % {"count": count}
        )

    def delete_model(self, request: HttpRequest, obj: AccessAttempt) -> None:
        login_locks_release(attempts=AccessAttempt.objects.filter(pk=obj.pk))
