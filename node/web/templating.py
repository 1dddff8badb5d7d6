"""Rendering a page: Jinja2 templates (node/web/templates/), autoescaped, with the visitor's
catalog and formats in every context, so that no template holds a visible string of its own."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale
from starlette.responses import HTMLResponse

from core.documents import document_types
from node.web.i18n import LOCALES, Formats, catalog

__all__ = ["TEMPLATE_DIR", "Templates"]

TEMPLATE_DIR = Path(__file__).parent / "templates"


class Templates:
    def __init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render_text(self, name: str, locale: str, zone: str, **context: Any) -> str:
        translations = catalog(locale)
        return self.env.get_template(name).render(
            _=translations.gettext,
            locale=locale,
            html_lang="zh-Hans" if locale == "zh_Hans" else "en",
            fmt=Formats(locale, zone),
            other_languages=_other_languages(locale),
            doc_title=_document_titles(locale).get,
            **context,
        )

    def render(
        self, name: str, locale: str, zone: str, *, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        return HTMLResponse(
            self.render_text(name, locale, zone, **context), status_code=status_code
        )


def _other_languages(locale: str) -> list[tuple[str, str, str]]:
    """The switch's choices: each other locale, named in its own language (Babel's data)."""
    return [
        (code, Locale.parse(code).language_name or code, code.replace("_", "-"))
        for code in LOCALES
        if code != locale
    ]


@cache
def _document_titles(locale: str) -> dict[str, str]:
    """Each document type's title in the page's language, from the catalog (the protos)."""
    chinese = locale.startswith("zh")
    return {t.name: (t.title_zh if chinese and t.title_zh else t.title) for t in document_types()}
