"""The forms of the incident pages: the report (a resident's phone, or staff and volunteers signed in), and
staff's triage forms. Services check everything again; these turn posted text into values and say what is
missing next to the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.comms.incidents.reporting import DESCRIPTION_MAX, PLACE_MAX, parse_degrees
from linli.comms.incidents.triage import NOTE_MAX
from linli.comms.models import Incident
from linli.core.models import User
from linli.plans.models import LEVEL_CHOICES
from linli.registry.models import Building

HERE, OTHER, PLACE = "here", "other", "place"


class ReportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What happened?"),
        choices=Incident.Kind.choices,
        error_messages={"required": _("Choose what happened.")},
    )
    description = forms.CharField(
        label=_("Describe it briefly"), max_length=DESCRIPTION_MAX, required=False, widget=forms.Textarea
    )
    where = forms.ChoiceField(label=_("Where?"), choices=[(HERE, HERE), (OTHER, OTHER), (PLACE, PLACE)])
    building = forms.TypedChoiceField(label=_("Building"), coerce=int, required=False, empty_value=None)
    place = forms.CharField(label=_("Exactly where"), max_length=PLACE_MAX, required=False)
    latitude = forms.CharField(required=False, widget=forms.HiddenInput)
    longitude = forms.CharField(required=False, widget=forms.HiddenInput)
    accuracy = forms.CharField(required=False, widget=forms.HiddenInput)
    reporter_name = forms.CharField(label=_("Your name"), max_length=50, required=False)
    reporter_phone = forms.CharField(label=_("Your mobile phone"), max_length=20, required=False)
    urgent = forms.BooleanField(label=_("Someone is in danger"), required=False)

    def __init__(
        self, *args: Any, buildings: list[Building], here: Building | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.here = here
        self.buildings = {b.pk: b for b in buildings}
        self.fields["building"].choices = [("", "—")] + [(b.pk, str(b)) for b in buildings]  # type: ignore[attr-defined]
        if here is None:
            self.fields["where"].choices = [(OTHER, OTHER), (PLACE, PLACE)]  # type: ignore[attr-defined]
            self.fields["where"].initial = OTHER
        else:
            self.fields["where"].initial = HERE

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        where = data.get("where")
        if where == OTHER and not data.get("building"):
            self.add_error("building", _("Choose the building."))
        if where == OTHER and data.get("building") and data["building"] not in self.buildings:
            self.add_error("building", _("Choose the building from the list."))
        if where == PLACE and not (data.get("place") or "").strip() and not self.location():
            self.add_error("place", _("Describe the place, or share your location."))
        return data

    def chosen_building(self) -> Building | None:
        where = self.cleaned_data.get("where")
        if where == HERE:
            return self.here
        if where == OTHER:
            return self.buildings.get(self.cleaned_data.get("building") or 0)
        return None

    def location(self) -> tuple[Decimal, Decimal, int | None] | None:
        data = self.cleaned_data
        lat = parse_degrees(data.get("latitude"), -90, 90)
        lon = parse_degrees(data.get("longitude"), -180, 180)
        if lat is None or lon is None:
            return None
        accuracy = str(data.get("accuracy") or "").split(".")[0]
        # A phone reports metres; anything longer than 7 digits is not an accuracy worth keeping.
        return lat, lon, int(accuracy) if accuracy.isdigit() and len(accuracy) <= 7 else None


DUE_CHOICES = [
    (30, _("in 30 minutes")),
    (60, _("in 1 hour")),
    (120, _("in 2 hours")),
    (240, _("in 4 hours")),
    (480, _("in 8 hours")),
    (1440, _("in 24 hours")),
]


class TasksForm(forms.Form):
    targets = forms.MultipleChoiceField(
        label=_("Who does it"), required=False, widget=forms.CheckboxSelectMultiple
    )
    assignee = forms.TypedChoiceField(label=_("Or a person"), coerce=int, required=False, empty_value=None)
    due_in = forms.TypedChoiceField(label=_("Deadline"), coerce=int, choices=DUE_CHOICES, initial=120)
    due_at = forms.DateTimeField(
        label=_("Or at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    instructions = forms.CharField(
        label=_("What to do"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    reply = forms.CharField(
        label=_("Message to the reporter (optional)"), required=False, max_length=NOTE_MAX
    )

    def __init__(self, *args: Any, targets: list[tuple[str, str]], people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["targets"].choices = targets  # type: ignore[attr-defined]
        self.people = {u.pk: u for u in people}
        self.fields["assignee"].choices = [("", "—")] + [(u.pk, u.name) for u in people]  # type: ignore[attr-defined]

    def deadline(self, now: dt.datetime | None = None) -> dt.datetime:
        now = now or timezone.now()
        at = self.cleaned_data.get("due_at")
        if at is not None:
            return at if timezone.is_aware(at) else timezone.make_aware(at)
        return now + dt.timedelta(minutes=int(self.cleaned_data.get("due_in") or 120))

    def chosen_assignee(self) -> User | None:
        return self.people.get(self.cleaned_data.get("assignee") or 0)


class ActivateForm(forms.Form):
    plan = forms.TypedChoiceField(
        label=_("Plan"), coerce=int, error_messages={"required": _("Choose a plan.")}
    )
    level = forms.TypedChoiceField(label=_("Response level"), coerce=int, choices=LEVEL_CHOICES, initial=4)
    scope = forms.ChoiceField(
        label=_("Covers"), choices=[("building", _("this building")), ("community", _("the whole community"))]
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
    reply = forms.CharField(
        label=_("Message to the reporter (optional)"), required=False, max_length=NOTE_MAX
    )
    drill = forms.BooleanField(label=_("Drill (an exercise, not a real emergency)"), required=False)

    def __init__(self, *args: Any, plans: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = plans  # type: ignore[attr-defined]


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX,
        error_messages={"required": _("Write a short note: the reporter reads it.")},
    )
    cancel_tasks = forms.BooleanField(required=False)


class CornersForm(forms.Form):
    north = forms.CharField(label=_("Top edge (north), latitude"), required=False)
    west = forms.CharField(label=_("Left edge (west), longitude"), required=False)
    south = forms.CharField(label=_("Bottom edge (south), latitude"), required=False)
    east = forms.CharField(label=_("Right edge (east), longitude"), required=False)
