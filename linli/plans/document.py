"""A plan as one plain document (the built-in JSON templates, revisions, copies and exports share it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from linli.plans.models import Contact, Plan, PlanLevel, Position, PositionHolder, Step, SupplyNeed


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def plan_document(plan: Plan, *, with_holders: bool = True) -> dict[str, Any]:
    positions = list(plan.positions.prefetch_related("holders__user"))
    keys = {p.pk: p.key for p in positions}
    doc: dict[str, Any] = {
        "key": plan.template_key,
        "title": plan.title,
        "category": plan.category,
        "summary": plan.summary,
        "version": plan.version,
        "approver": plan.approver,
        "approved_on": plan.approved_on.isoformat() if plan.approved_on else None,
        "review_on": plan.review_on.isoformat() if plan.review_on else None,
        "risk": {
            "event_type": plan.event_type,
            "location": plan.location,
            "severity_scope": plan.severity_scope,
            "warning_signs": plan.warning_signs,
            "secondary_effects": plan.secondary_effects,
        },
        "levels": [{"level": lv.level, "criteria": lv.criteria} for lv in plan.levels.all()],
        "positions": [],
        "steps": [
            {
                "team": s.team,
                "phase": s.phase,
                "position": keys.get(s.position_id or 0, ""),
                "text": s.text,
                "within_minutes": s.within_minutes,
            }
            for s in plan.steps.all()
        ],
        "supplies": [
            {"item": s.item, "quantity": _number(s.quantity), "unit": s.unit, "storage": s.storage}
            for s in plan.supplies.all()
        ],
        "contacts": [{"kind": c.kind, "name": c.name, "phone": c.phone} for c in plan.contacts.all()],
        "termination_criteria": plan.termination_criteria_list,
        "notes": plan.notes_list,
    }
    for p in positions:
        entry: dict[str, Any] = {
            "key": p.key,
            "team": p.team,
            "role": p.role,
            "title": p.title,
            "filled_by": p.filled_by,
            "duties": p.duties_list,
        }
        if with_holders:
            entry["holders"] = [
                {
                    "user": h.user.username if h.user_id else None,  # type: ignore[union-attr]
                    "user_id": h.user_id,
                    "name": h.name,
                    "phone": h.phone,
                    "organisation": h.organisation,
                    "standin": h.is_standin,
                }
                for h in p.holders.all()
            ]
        doc["positions"].append(entry)
    return doc


def plan_build(doc: dict[str, Any], **plan_fields: Any) -> Plan:
    """Create a plan with all its parts from a document. The caller wraps this in a transaction."""
    risk = doc.get("risk", {})
    plan = Plan.objects.create(
        title=doc["title"],
        category=doc["category"],
        summary=doc.get("summary", ""),
        event_type=risk.get("event_type", ""),
        location=risk.get("location", ""),
        severity_scope=risk.get("severity_scope", ""),
        warning_signs=risk.get("warning_signs", ""),
        secondary_effects=risk.get("secondary_effects", ""),
        termination_criteria="\n".join(doc.get("termination_criteria", [])),
        notes="\n".join(doc.get("notes", [])),
        **plan_fields,
    )
    PlanLevel.objects.bulk_create(
        PlanLevel(plan=plan, level=lv["level"], criteria=lv.get("criteria", ""))
        for lv in doc.get("levels", [])
    )
    by_key: dict[str, Position] = {}
    for order, p in enumerate(doc.get("positions", []), start=1):
        by_key[p["key"]] = Position(
            plan=plan,
            key=p["key"],
            order=order,
            team=p["team"],
            role=p["role"],
            title=p["title"],
            filled_by=p.get("filled_by", ""),
            duties="\n".join(p.get("duties", [])),
        )
    Position.objects.bulk_create(by_key.values())
    holders = []
    for p in doc.get("positions", []):
        for order, h in enumerate(p.get("holders", []), start=1):
            holders.append(
                PositionHolder(
                    position=by_key[p["key"]],
                    user_id=h.get("user_id"),
                    name=h.get("name", ""),
                    phone=h.get("phone", ""),
                    organisation=h.get("organisation", ""),
                    is_standin=bool(h.get("standin")),
                    order=order,
                )
            )
    PositionHolder.objects.bulk_create(holders)
    Step.objects.bulk_create(
        Step(
            plan=plan,
            team=s["team"],
            phase=s["phase"],
            position=by_key.get(s.get("position") or ""),
            order=order,
            text=s["text"],
            within_minutes=s.get("within_minutes", 30),
        )
        for order, s in enumerate(doc.get("steps", []), start=1)
    )
    SupplyNeed.objects.bulk_create(
        SupplyNeed(
            plan=plan,
            order=order,
            item=s["item"],
            quantity=s.get("quantity"),
            unit=s.get("unit", ""),
            storage=s.get("storage", ""),
        )
        for order, s in enumerate(doc.get("supplies", []), start=1)
    )
    Contact.objects.bulk_create(
        Contact(plan=plan, order=order, kind=c.get("kind", "other"), name=c["name"], phone=c.get("phone", ""))
        for order, c in enumerate(doc.get("contacts", []), start=1)
    )
    return plan
