"""Input checks for the self-report pages: the identity form and the household's report form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

from linli.health.models import ANTIGEN_CODES, FEVER_AT, SYMPTOM_CODES, Antigen
from linli.health.selfreport import Entry, check_photo, parse_temperature
from linli.registry.models import Resident


@dataclass
class Identity:
    room: str
    name: str
    id_tail: str
    errors: dict[str, str] = field(default_factory=dict)


def identity_from(post: QueryDict) -> Identity:
    ident = Identity(
        room=post.get("room", "").strip()[:20],
        name=post.get("name", "").strip()[:50],
        id_tail=post.get("id_tail", "").strip()[:8],
    )
    if not ident.room:
        ident.errors["room"] = _("Enter your room, like 2-301.")
    if not ident.name:
        ident.errors["name"] = _("Enter your name as registered.")
    if len(ident.id_tail) != 4:
        ident.errors["id_tail"] = _("Enter the last 4 characters of your ID number.")
    return ident


@dataclass
class MemberForm:
    """One household member's part of the form, as posted (to show it again with its errors)."""

    resident_id: int
    resident: Resident | None = None
    temperature: str = ""
    symptoms: list[str] = field(default_factory=list)
    at_home: bool = True
    away_note: str = ""
    antigen: str = Antigen.NONE
    unwell: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def fever(self) -> bool:
        try:
            return parse_temperature(self.temperature) >= FEVER_AT
        except ValidationError:
            return False


MAX_MEMBERS = 30


def posted_member_ids(post: QueryDict) -> list[int]:
    """The people a household form was posted for: its page has a temperature field for each."""
    ids = sorted({int(key[2:]) for key in post if key.startswith("t-") and key[2:].isdigit()})
    return ids[:MAX_MEMBERS]


def household_form(
    members: Sequence[Resident] | Sequence[int], post: QueryDict, files: MultiValueDict
) -> tuple[list[MemberForm], list[Entry]]:
    """Each member's fields, and an entry for each member whose temperature was given. A member left empty
    is not reported (the family may not know yet); one with anything else filled in needs a temperature.
    Members are residents (to show the form again) or only their ids (to take a report quickly)."""
    forms, entries = [], []
    for person in members:
        resident_id = person if isinstance(person, int) else person.pk
        key = str(resident_id)
        form = MemberForm(
            resident_id=resident_id,
            resident=None if isinstance(person, int) else person,
            temperature=post.get(f"t-{key}", "").strip()[:10],
            symptoms=list(dict.fromkeys(s for s in post.getlist(f"s-{key}") if s in SYMPTOM_CODES)),
            at_home=post.get(f"home-{key}", "1") != "0",
            away_note=post.get(f"away-{key}", "").strip()[:100],
            antigen=post.get(f"ag-{key}", Antigen.NONE),
        )
        feel = post.get(f"feel-{key}")
        if feel == "ok":
            form.symptoms = []  # ticked, then "well" chosen again: the hidden ticks do not count
        form.unwell = feel == "unwell" or bool(form.symptoms)
        if form.antigen not in ANTIGEN_CODES:
            form.antigen = Antigen.NONE
        photo = files.get(f"photo-{key}")
        forms.append(form)
        anything = form.unwell or form.antigen != Antigen.NONE or photo or not form.at_home
        if not form.temperature:
            if anything:
                form.errors["temperature"] = _("Enter this person's temperature too.")
            continue
        try:
            temperature = parse_temperature(form.temperature)
        except ValidationError as exc:
            form.errors["temperature"] = exc.messages[0]
            continue
        if photo is not None:
            try:
                check_photo(photo)
            except ValidationError as exc:
                form.errors["photo"] = exc.messages[0]
                continue
        if form.unwell and not form.symptoms:
            # "Unwell" with nothing ticked would be saved as a normal report and nobody would call.
            form.errors["symptoms"] = _("Tick what is wrong (or “other discomfort”).")
            continue
        if not form.at_home and not form.away_note:
            form.errors["away"] = _("Say where this person is, for example a city or a hospital.")
            continue
        entries.append(
            Entry(
                resident_id=resident_id,
                temperature=temperature,
                symptoms=form.symptoms,
                at_home=form.at_home,
                away_note=form.away_note,
                antigen=form.antigen,
                photo=photo,
            )
        )
    return forms, entries
