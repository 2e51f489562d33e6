"""`make install` hands uv this machine's pip settings (devtools/uv_pip.py), which uv does not read itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devtools.uv_pip import pip_settings, uv_options

ROOT = Path(__file__).resolve().parents[1]


def test_pips_settings_become_uvs_flags_and_environment(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    listing = "\n".join(
        [
            ":env:.cert='/etc/ssl/certs/ca-certificates.crt'",
            ":env:.default-timeout='180'",
            f":env:.find-links='{wheels} /nowhere/wheels'",  # the variable wins over the file's setting
            "global.find-links='/somewhere/else'",
            "global.extra-index-url='file:///opt/pypi/simple https://mirror.example/simple'",
            "global.constraint='/etc/xdg/pip/constraints.txt'",
            "install.index-url='https://index.example/simple'",
            "global.index-url='https://ignored.example/simple'",  # [install] wins over [global]
            "global.trusted-host='mirror.example'",
            "global.no-index='false'",
            "not a setting",
        ]
    )

    flags, env = uv_options(pip_settings(listing))

    assert flags == [
        "--index-strategy",
        "unsafe-best-match",  # pip weighs every index together; uv's default stops at the first that has a name
        "--index-url",
        "https://index.example/simple",
        "--extra-index-url",
        "file:///opt/pypi/simple",
        "--extra-index-url",
        "https://mirror.example/simple",
        "--find-links",
        str(wheels),  # /nowhere/wheels is left out, as pip leaves it out: uv would stop on it
        "--constraints",
        "/etc/xdg/pip/constraints.txt",
        "--allow-insecure-host",
        "mirror.example",
    ]
    assert env == {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt", "UV_HTTP_TIMEOUT": "180"}


def test_no_settings_leave_uv_as_it_is():
    assert uv_options(pip_settings("")) == (["--index-strategy", "unsafe-best-match"], {})


def test_it_runs_uv_pip_with_them(tmp_path):
    """The script itself: `uv_pip.py UV install ARGS` runs `UV pip install <pip's settings> ARGS`."""
    fake_uv = tmp_path / "uv"
    fake_uv.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\necho "cert=$SSL_CERT_FILE"\n', encoding="utf-8")
    fake_uv.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "PIP_CERT": "/some/bundle.pem", "PIP_CONFIG_FILE": "/dev/null"}

    out = subprocess.run(
        [sys.executable, str(ROOT / "devtools/uv_pip.py"), str(fake_uv), "install", "-q", "six"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.splitlines()

    assert out[:4] == ["pip", "install", "--index-strategy", "unsafe-best-match"]
    assert out[-3:] == ["-q", "six", "cert=/some/bundle.pem"]
