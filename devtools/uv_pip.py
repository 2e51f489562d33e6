"""`python devtools/uv_pip.py UV ARGS…`: run `UV pip ARGS…` with this machine's pip settings (`make install`).

uv reads none of pip's configuration (pip.conf files, PIP_* variables), so a machine that reaches its packages
through them (a mirror, extra indexes, local wheels, a proxy with its own certificate) would install
differently, or not at all, with uv than with pip. This asks pip (`pip config list`) and tells uv the same:
the index, the extra indexes (weighed together, as pip does: `--index-strategy unsafe-best-match`),
find-links, constraints, trusted hosts, the certificate bundle, the proxy and the timeout. Like pip, it leaves
out a local find-links folder that does not exist (uv would stop on it).

Runs with the Python that makes the virtualenv, before anything is installed in it: standard library only.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from urllib.parse import unquote, urlparse

# pip's option (as `pip config list` names it) → uv's flag, given once per value.
FLAGS = {
    "index-url": "--index-url",
    "extra-index-url": "--extra-index-url",
    "find-links": "--find-links",
    "constraint": "--constraints",
    "trusted-host": "--allow-insecure-host",
}
SWITCHES = {"no-index": "--no-index"}
# pip's option → the environment variables uv reads for the same thing.
ENVIRONMENT = {
    "cert": ("SSL_CERT_FILE",),
    "client-cert": ("SSL_CLIENT_CERT",),
    "proxy": ("HTTP_PROXY", "HTTPS_PROXY"),
    "timeout": ("UV_HTTP_TIMEOUT",),
    "default-timeout": ("UV_HTTP_TIMEOUT",),
}
# Where `pip install` takes an option from, first match wins: PIP_* variables, then [install], then [global].
SECTIONS = (":env:", "install", "global")
TRUE = {"1", "true", "yes", "on"}


def pip_settings(listing: str) -> dict[str, str]:
    """pip's effective settings for `pip install`, from the output of `pip config list` (key='value' lines)."""
    found: dict[tuple[str, str], str] = {}
    for line in listing.splitlines():
        key, equals, value = line.partition("=")
        section, dot, name = key.rpartition(".")
        if not (equals and dot):
            continue
        try:
            found[(section, name)] = str(ast.literal_eval(value))
        except (ValueError, SyntaxError):
            continue
    settings: dict[str, str] = {}
    for name in sorted({name for _section, name in found}):
        for section in SECTIONS:
            if (section, name) in found:
                settings[name] = found[(section, name)]
                break
    return settings


def _missing_folder(location: str) -> bool:
    """A find-links entry that names a local folder (a path or a file: URL) that is not there."""
    parsed = urlparse(location)
    if parsed.scheme not in ("", "file"):
        return False
    return not os.path.exists(unquote(parsed.path) if parsed.scheme else location)


def uv_options(settings: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """uv's flags and environment variables for pip's settings."""
    flags = ["--index-strategy", "unsafe-best-match"]
    env: dict[str, str] = {}
    for name, flag in FLAGS.items():
        for value in settings.get(name, "").split():
            if name == "find-links" and _missing_folder(value):
                continue
            flags += [flag, value]
    for name, flag in SWITCHES.items():
        if settings.get(name, "").lower() in TRUE:
            flags.append(flag)
    for name, variables in ENVIRONMENT.items():
        if settings.get(name):
            env.update(dict.fromkeys(variables, settings[name]))
    return flags, env


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit("usage: python devtools/uv_pip.py UV SUBCOMMAND [ARGS…]   (runs `UV pip SUBCOMMAND …`)")
    uv, subcommand, *args = argv
    listing = subprocess.run(  # noqa: S603 - this very interpreter's pip
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    flags, env = uv_options(pip_settings(listing))
    os.execve(uv, [uv, "pip", subcommand, *flags, *args], {**os.environ, **env})  # noqa: S606


if __name__ == "__main__":
    main(sys.argv[1:])
