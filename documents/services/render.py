"""Forms to PDF with WeasyPrint: Django templates under templates/documents/pdf/, one stylesheet, system fonts.

- The templates get plain values (documents.services.data): `forms` (OrderForm, in print order), `kind`,
  `options`, `printed_at`, and for the picking list `rows` (PickingRow). They format; they never compute an
  amount. Every order of a form is a `section.doc` that starts a new page; a table's `thead` repeats on the
  next page, so a long order keeps its header.
- Fonts: IPAex Gothic / Mincho from Debian's fonts-ipaexfont, with Noto Sans CJK JP (fonts-noto-cjk) after them
  for what IPAex lacks; fontconfig finds them, WeasyPrint embeds the subsets it uses (`pdffonts` shows them).
  One FontConfiguration and one parsed stylesheet per process: parsing the CSS and loading fonts are done
  once, not per chunk.
- Images (the shop's logo and seal) are read from the tenant's media by path; nothing else is fetched: the
  URL fetcher refuses every other address, so a value in an order cannot make the renderer reach out.
- A bulk job renders in chunks (CHUNK orders each) to temporary files and concatenates them with pypdf, so
  memory holds one chunk's layout at a time (`render_chunks`).
"""

from __future__ import annotations

import functools
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from backyard.models import Tenant

from ..models import DocumentKind
from .data import OrderForm, picking_rows

CHUNK = 50  # orders per rendered chunk of a bulk job
STYLESHEET = "documents/pdf/forms.css"


class FetchRefused(ValueError):
    pass


def template_of(kind: str) -> str:
    return f"documents/pdf/{DocumentKind(kind).value}.html"


@functools.cache
def _fonts() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@functools.cache
def _stylesheet() -> Any:
    from weasyprint import CSS

    css = render_to_string(STYLESHEET, {})
    return CSS(string=css, font_config=_fonts())


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT).resolve()


@functools.cache
def _fetcher() -> Any:
    """WeasyPrint's URL fetcher: files under MEDIA_ROOT only (logos, seals); any other address is refused (the
    image is then left out with a warning, and the form still prints)."""
    from weasyprint.urls import URLFetcher

    class MediaFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file://"):
                path = Path(unquote(url.removeprefix("file://").split("?")[0])).resolve()
                if path.is_relative_to(_media_root()) and path.is_file():
                    return super().fetch(url, headers)
            raise FetchRefused(url[:200])

    return MediaFetcher(allowed_protocols={"file"}, fail_on_errors=False)


def context(tenant: Tenant, kind: str, forms: Sequence[OrderForm], options: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": kind,
        "kind_name": DocumentKind(kind).label,
        "forms": list(forms),
        "options": options,
        "printed_at": timezone.localtime(),
    }
    if kind == DocumentKind.PICKING_LIST:
        values["rows"] = picking_rows(tenant, forms, sort=options.get("sort", "sku"))
        values["orientation"] = "landscape" if options.get("orientation") == "landscape" else "portrait"
    return values


def render_html(tenant: Tenant, kind: str, forms: Sequence[OrderForm], options: dict[str, Any]) -> str:
    with translation.override("ja"):
        return render_to_string(template_of(kind), context(tenant, kind, forms, options))


def render_pdf(tenant: Tenant, kind: str, forms: Sequence[OrderForm], options: dict[str, Any]) -> bytes:
    """One PDF of `forms` (all orders of a picking list make one list)."""
    from weasyprint import HTML

    html = render_html(tenant, kind, forms, options)
    document = HTML(string=html, base_url=str(_media_root()), url_fetcher=_fetcher())
    return bytes(document.write_pdf(stylesheets=[_stylesheet()], font_config=_fonts()))


def render_chunks(
    tenant: Tenant,
    kind: str,
    chunks: Iterable[Sequence[OrderForm]],
    options: dict[str, Any],
    *,
    done: Callable[[Sequence[OrderForm], int], None] | None = None,
    failed: Callable[[Sequence[OrderForm], Exception], None] | None = None,
) -> tuple[bytes, int]:
    """Render each chunk on its own and concatenate: (the PDF, its pages). `done(chunk, pages)` after each
    chunk that rendered, `failed(chunk, error)` for one that did not (its orders are left out, the others
    go on)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    pages = 0
    with tempfile.TemporaryDirectory(prefix="backyard-print-") as folder:
        for n, chunk in enumerate(chunks):
            try:
                data = render_pdf(tenant, kind, chunk, options)
            except Exception as error:  # one bad chunk never stops the job: named, and the rest go on
                if failed is None:
                    raise
                failed(chunk, error)
                continue
            path = Path(folder) / f"{n:05d}.pdf"
            path.write_bytes(data)
            reader = PdfReader(path)
            writer.append(reader)
            pages += len(reader.pages)
            if done is not None:
                done(chunk, len(reader.pages))
        out = io.BytesIO()
        writer.write(out)
    return out.getvalue(), pages


def chunks_of(forms: Sequence[OrderForm], size: int = CHUNK) -> Iterator[Sequence[OrderForm]]:
    for start in range(0, len(forms), size):
        yield forms[start : start + size]
