"""The dates an operator or a URL may send: the years an order can have.

A date filter, a form's date and the admin's date hierarchy all work out a day or a year after the date they
were given, or its time in UTC; at the calendar's ends that is an OverflowError (a 500), and a year like
9999 is a typo anyway. Every date that comes from outside is checked against these bounds first, and a date
outside them is a validation error with the same message everywhere.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)
OUT_OF_RANGE = _("Enter a date between 2000 and 2100.")


def in_range(value: dt.date) -> bool:
    day = value.date() if isinstance(value, dt.datetime) else value
    return EARLIEST <= day <= LATEST


def validate_date_in_range(value: dt.date | None) -> None:
    """A validator for date and date-time fields (forms, filters): 2000-01-01 to 2100-12-31."""
    if value is not None and not in_range(value):
        raise ValidationError(OUT_OF_RANGE, code="date_range")
