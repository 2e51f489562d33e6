"""Tenancy core: a tenant is one merchant company; every business row belongs to exactly one tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Tenant(models.Model):
    name = models.CharField(_("company name"), max_length=200)
    slug = models.SlugField(_("code"), max_length=60, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("owner")
    ADMIN = "admin", _("admin")
    OPERATOR = "operator", _("operator")


ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("tenant"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.OPERATOR)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_tenant_user")]
        indexes = [models.Index(fields=["user", "tenant"], name="membership_user_tenant")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant | int) -> Self:
        """The only way views and tasks read tenant-owned rows: scoped to one tenant."""
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        return self.filter(tenant_id=tenant_id)


TenantManager = models.Manager.from_queryset(TenantQuerySet)


class TenantOwned(models.Model):
    """Base for every tenant-owned table: carries `tenant`, and its composite indexes lead with it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))

    objects = TenantManager()

    class Meta:
        abstract = True

    def clean(self) -> None:
        """A row may only point at rows of its own tenant (checked in every admin and model form)."""
        super().clean()
        if self.tenant_id is None:
            return
        errors = {}
        for field in self._meta.concrete_fields:
            related = field.related_model
            if (
                not field.many_to_one
                or field.name == "tenant"
                or not (isinstance(related, type) and issubclass(related, TenantOwned))
            ):
                continue
            if getattr(self, field.attname) is None:
                continue
            if getattr(self, field.name).tenant_id != self.tenant_id:
                errors[field.name] = _("This belongs to another tenant.")
        if errors:
            raise ValidationError(errors)


M = TypeVar("M", bound=TenantOwned)


def access_tenant_owned(model: type[M], tenant: Tenant, pk: Any, queryset: models.QuerySet[M] | None = None) -> M:
    """Fetch one row of `tenant` by primary key; a missing row and another tenant's row are the same 404."""
    qs = queryset if queryset is not None else model.objects.all()
    try:
        return cast(M, qs.filter(tenant_id=tenant.pk).get(pk=int(pk)))
    except (model.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404(_("Not found.")) from None


def memberships_of(user: AbstractBaseUser | AnonymousUser) -> models.QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user_id=user.pk).select_related("tenant").order_by("tenant__name")
