"""`swnode catalog [--json]`: the data element catalog, generated from the document protos.

The catalog itself is core/catalog.py; this prints it, for people (each element with its value
type, format and uses, then each document type's fields) or as JSON. Exit status 1 if the protos
disagree with themselves (the errors are printed to stderr, and listed under `errors` in the
JSON), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.catalog import Catalog, CatalogElement, build_catalog, catalog_to_dict

__all__ = ["add_arguments", "main", "render"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the catalog as JSON")


def main(args: argparse.Namespace) -> int:
    catalog = build_catalog()
    if args.json:
        print(json.dumps(catalog_to_dict(catalog), indent=2, ensure_ascii=False))
    else:
        print(render(catalog), end="")
    for error in catalog.errors:
        print(f"swnode catalog: {error}", file=sys.stderr)
    return 1 if catalog.errors else 0


def _element_lines(e: CatalogElement) -> list[str]:
    facts = [f"type {e.type}", f"format {e.format}"]
    if e.tded:
        facts.append(f"TDED {e.tded}")
    if e.max_length:
        facts.append(f"max {e.max_length}")
    if e.required:
        facts.append("required")
    elif any(u.required for u in e.uses):
        facts.append("required in some uses")
    lines = [f"{e.id}  {e.name} / {e.name_zh}", f"        {', '.join(facts)}"]
    if e.description:
        lines.append(f"        {e.description}")
        lines.append(f"        {e.description_zh}")
    if e.code_list:
        lines.append("        codes:")
        width = max(len(code) for code in e.code_list)
        names = dict(zip(e.code_list, e.code_names, strict=False))
        for code in e.code_list:
            en, zh = names.get(code, ("", ""))
            lines.append(f"          {code:<{width}}  {en} / {zh}")
    by_type: dict[str, list[str]] = {}
    for use in e.uses:
        by_type.setdefault(use.document_type, []).append(use.path + ("*" if use.required else ""))
    lines += [f"        {t}: {', '.join(paths)}" for t, paths in by_type.items()]
    return lines


def render(catalog: Catalog) -> str:
    """The catalog as text: every element with its uses, then every document type's fields.
    A `*` marks a field the declarant must fill in."""
    out = [
        f"Data element catalog: {len(catalog.elements)} elements in "
        f"{len(catalog.documents)} document types (* required)",
        "",
    ]
    for element in catalog.elements:
        out += _element_lines(element)
    names = {e.id: e.name for e in catalog.elements}
    for document in catalog.documents:
        out += ["", f"{document.name}: {document.title} / {document.title_zh}"]
        width = max((len(f.path) for f in document.fields), default=0)
        for f in document.fields:
            mark = "*" if f.required else " "
            out.append(f"  {f.path:<{width}}  {f.element}{mark} {names.get(f.element, '')}")
    if catalog.errors:
        out += ["", f"{len(catalog.errors)} catalog error(s):"]
        out += [f"  {error}" for error in catalog.errors]
    return "\n".join(out) + "\n"
