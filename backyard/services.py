"""Writes of the tenancy core: tenants and who belongs to them."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import models, transaction

from .models import ADMIN_ROLES, Membership, Role, Tenant


@transaction.atomic
def membership_set(*, tenant: Tenant, user: User, role: Role | str) -> Membership:
    """Give `user` a role in `tenant`. Owners and admins become staff so they can open the admin."""
    membership, _ = Membership.objects.update_or_create(tenant=tenant, user=user, defaults={"role": role})
    if role in ADMIN_ROLES and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return membership


@transaction.atomic
def user_create_with_membership(
    *, tenant: Tenant, username: str, password: str, role: Role | str, email: str = ""
) -> User:
    user = get_user_model().objects.create_user(username=username, password=password, email=email)
    membership_set(tenant=tenant, user=user, role=role)
    return user


def login_locks_release(*, attempts: models.QuerySet[AccessAttempt]) -> int:
    """Unlock the login names (each from its address) of these failed-login records: with django-axes'
    database handler (settings.AXES_HANDLER) the records are the lock, so deleting them lets the login try
    again at once, with the full number of tries. Returns how many were cleared."""
    _, deleted = AccessAttempt.objects.filter(pk__in=list(attempts.values_list("pk", flat=True))).delete()
    return deleted.get(AccessAttempt._meta.label, 0)
