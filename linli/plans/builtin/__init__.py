"""The built-in plan templates, kept as JSON documents next to this file (see SCHEMA.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import transaction

from linli.plans.document import plan_build
from linli.plans.models import Plan

HERE = Path(__file__).parent


def builtin_documents() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(HERE.glob("*.json"))]


def load_builtin_templates() -> int:
    """Create the templates that are missing. Existing ones are left alone (an operator may have edited them)."""
    existing = set(Plan.objects.filter(is_template=True).values_list("template_key", flat=True))
    created = 0
    for doc in builtin_documents():
        if doc["key"] in existing:
            continue
        with transaction.atomic():
            plan_build(doc, is_template=True, template_key=doc["key"])
        created += 1
    return created
