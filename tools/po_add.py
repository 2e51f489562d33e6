"""Add or update Japanese translations in locale/ja/LC_MESSAGES/django.po and compile the catalogue.

    .venv/bin/python tools/po_add.py pairs.json

pairs.json: [["English msgid", "日本語"], …] or, for plurals, [["singular", "plural", "日本語"], …]. An msgid
already in the catalogue gets the new msgstr; a new one is appended (`make messages` later sorts them in and
adds the source references). Safe to run from several shells at once (an exclusive lock on the file).
"""

from __future__ import annotations

import fcntl
import json
import re
import subprocess
import sys
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "locale" / "ja" / "LC_MESSAGES" / "django.po"


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def entry(pair: list[str]) -> str:
    flags = "#, python-format\n" if re.search(r"%(\(\w+\))?[sd]", "".join(pair)) else ""
    if len(pair) == 3:
        singular, plural, text = pair
        return f"{flags}msgid {quote(singular)}\nmsgid_plural {quote(plural)}\nmsgstr[0] {quote(text)}\n"
    msgid, text = pair
    return f"{flags}msgid {quote(msgid)}\nmsgstr {quote(text)}\n"


def main(path: str) -> None:
    pairs = json.loads(Path(path).read_text(encoding="utf-8"))
    with open(PO, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        text = handle.read()
        for pair in pairs:
            msgid = quote(pair[0])
            block = re.compile(
                r"(?:#[^\n]*\n)*msgid "
                + re.escape(msgid)
                + r"\n(?:msgid_plural [^\n]*\n)?(?:msgstr(?:\[0\])? (?:\"[^\n]*\"\n)+)+"
            )
            if block.search(text):
                replacement = entry(pair)
                text = block.sub(replacement.replace("\\", "\\\\"), text, count=1)
            else:
                text = text.rstrip("\n") + "\n\n" + entry(pair)
        handle.seek(0)
        handle.write(text)
        handle.truncate()
        command = ["msgfmt", "--check-format", "-o", str(PO.with_suffix(".mo")), str(PO)]
        subprocess.run(  # noqa: S603 - the catalogue compiler, on our own file
            command,
            check=True,
        )
        fcntl.flock(handle, fcntl.LOCK_UN)


if __name__ == "__main__":
    main(sys.argv[1])
