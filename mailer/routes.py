"""Which SMTP server a shop's mail goes through, and the connection to it.

Every mall dictates its own outbound route (B9): Rakuten takes mail to its masked buyer addresses only through
its R-Mail relay with the shop's SMTP AUTH login, Amazon only from the seller's registered address, Yahoo! and
own carts through the merchant's server. So a shop's own SMTP settings win; else the tenant's; else the
project's `EMAIL_URL` (settings). A route a tenant typed may not lead inside our network (as with the malls'
hosts, issue 11): its host must resolve to public addresses and its port be a mail port, unless
`MAILER_ALLOW_PRIVATE_SMTP` is on (development and the tests, whose servers listen on 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend
from django.utils.translation import gettext as _

from shops.crypto import decrypt_credentials, encrypt_credentials

from .models import Security, SmtpSettings

MAIL_PORTS = frozenset({25, 465, 587, 2525})
TIMEOUT = 30  # seconds for each SMTP step


@dataclass(frozen=True)
class Route:
    host: str
    port: int
    security: str = Security.NONE
    user: str = ""
    password: str = ""
    trusted: bool = False  # the project's own route (settings), not typed by a tenant

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"

    def backend(self) -> EmailBackend:
        return EmailBackend(
            host=self.host,
            port=self.port,
            username=self.user or None,
            password=self.password or None,
            use_tls=self.security == Security.STARTTLS,
            use_ssl=self.security == Security.SSL,
            timeout=TIMEOUT,
            fail_silently=False,
        )


class RouteRefused(Exception):
    """The route cannot be used (the reason in words)."""


def project_route(url: str | None = None) -> Route | None:
    """settings.EMAIL_URL: smtp://user:pass@host:port (?tls=1 for STARTTLS), smtps://… for SSL; "" → None."""
    url = (url if url is not None else getattr(settings, "EMAIL_URL", "")).strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps", "submission"} or not parts.hostname:
        raise RouteRefused(_("EMAIL_URL is not an smtp:// or smtps:// address."))
    query = parse_qs(parts.query)
    if parts.scheme == "smtps":
        security, default_port = Security.SSL, 465
    elif query.get("tls", ["0"])[0] in {"1", "true", "yes"} or parts.scheme == "submission":
        security, default_port = Security.STARTTLS, 587
    else:
        security, default_port = Security.NONE, 25
    return Route(
        host=parts.hostname,
        port=parts.port or default_port,
        security=security,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        trusted=True,
    )


def stored_password(row: SmtpSettings) -> str:
    if not row.smtp_password:
        return ""
    return decrypt_credentials(row.smtp_password).get("password", "")


def store_password(row: SmtpSettings, password: str) -> None:
    """Keep the password encrypted with the mall credentials' key (shops.crypto); "" removes it."""
    row.smtp_password = encrypt_credentials({"password": password}) if password else ""


def settings_route(row: SmtpSettings | None) -> Route | None:
    if row is None or not row.has_route:
        return None
    return Route(
        host=row.smtp_host.strip(),
        port=row.smtp_port,
        security=row.smtp_security,
        user=row.smtp_user,
        password=stored_password(row),
    )


def choose_route(*levels: SmtpSettings | None) -> Route | None:
    """The first level that has a route (shop, then tenant), else the project's; None when there is none."""
    for row in levels:
        route = settings_route(row)
        if route is not None:
            return route
    return project_route()


def check_route(route: Route) -> None:
    """Refuse a tenant's route that points inside our network or at a port that is not a mail port."""
    if route.trusted or getattr(settings, "MAILER_ALLOW_PRIVATE_SMTP", False):
        return
    if route.port not in MAIL_PORTS:
        raise RouteRefused(_("SMTP port %(port)s is not a mail port (25, 465, 587 or 2525).") % {"port": route.port})
    try:
        infos = socket.getaddrinfo(route.host, route.port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise RouteRefused(_("The SMTP server %(host)s cannot be found.") % {"host": route.host}) from error
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise RouteRefused(
                _("The SMTP server %(host)s is not on the internet (a private or local address).")
                % {"host": route.host}
            )
