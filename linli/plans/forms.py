"""Plan editing forms: one page per section, each saved as a new version of the plan."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from linli.core.models import User
from linli.plans.models import (
    LEVEL_CHOICES,
    Contact,
    Plan,
    PlanLevel,
    Position,
    PositionHolder,
    Step,
    SupplyNeed,
)
from linli.registry.models import Building

TEXTAREA = forms.Textarea(attrs={"rows": 3})
SHORT_TEXTAREA = forms.Textarea(attrs={"rows": 2})


class VersionForm(forms.Form):
    """The version the editor started from; saving against a newer one is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput)


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = [
            "title",
            "category",
            "summary",
            "event_type",
            "location",
            "severity_scope",
            "warning_signs",
            "secondary_effects",
            "termination_criteria",
            "notes",
            "approver",
            "approved_on",
            "review_on",
        ]
        widgets = {
            "summary": SHORT_TEXTAREA,
            "location": SHORT_TEXTAREA,
            "severity_scope": TEXTAREA,
            "warning_signs": TEXTAREA,
            "secondary_effects": TEXTAREA,
            "termination_criteria": TEXTAREA,
            "notes": TEXTAREA,
            "approved_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "review_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }


class CopyForm(forms.Form):
    title = forms.CharField(label=_("Title of your plan"), max_length=200, required=False)


class ActivateForm(forms.Form):
    level = forms.TypedChoiceField(
        label=_("Response level"), choices=[("", _("— choose the level —")), *LEVEL_CHOICES], coerce=int
    )
    scope = forms.ChoiceField(
        label=_("Area"),
        choices=[("community", _("Whole community")), ("buildings", _("Some buildings"))],
        widget=forms.RadioSelect,
        initial="community",
    )
    buildings = forms.ModelMultipleChoiceField(
        label=_("Buildings"),
        queryset=Building.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(label=_("Reason"), widget=SHORT_TEXTAREA)
    drill = forms.BooleanField(label=_("This is a drill"), required=False)

    def __init__(self, *args: Any, buildings: QuerySet[Building], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["buildings"].queryset = buildings  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == "buildings" and not data.get("buildings"):
            self.add_error("buildings", _("Choose at least one building, or the whole community."))
        return data


class PositionForm(forms.ModelForm):
    class Meta:
        model = Position
        fields = ["order", "team", "role", "title", "filled_by", "duties"]
        widgets = {"duties": TEXTAREA, "order": forms.NumberInput(attrs={"style": "width:5rem"})}

    def save(self, commit: bool = True) -> Position:
        if not self.instance.key:
            self.instance.key = f"p-{uuid.uuid4().hex[:8]}"
        return super().save(commit)


class StepForm(forms.ModelForm):
    class Meta:
        model = Step
        fields = ["order", "phase", "position", "text", "within_minutes"]
        widgets = {"text": SHORT_TEXTAREA, "order": forms.NumberInput(attrs={"style": "width:5rem"})}


class HolderForm(forms.ModelForm):
    class Meta:
        model = PositionHolder
        fields = ["user", "name", "phone", "organisation", "is_standin"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("DELETE") and self.has_changed() and not (data.get("user") or data.get("name")):
            raise forms.ValidationError(_("Choose a staff account or enter a name."))
        return data


@dataclass(frozen=True)
class Section:
    key: str
    label: StrOrPromise
    model: type[Model]
    form: type[forms.ModelForm] | None
    fields: tuple[str, ...]
    extra: int
    can_delete: bool = True


SECTIONS = {
    "levels": Section("levels", _("Response levels"), PlanLevel, None, ("criteria",), 0, can_delete=False),
    "positions": Section("positions", _("Organisation and duties"), Position, PositionForm, (), 2),
    "steps": Section("steps", _("Procedure"), Step, StepForm, (), 3),
    "supplies": Section(
        "supplies",
        _("Required supplies"),
        SupplyNeed,
        None,
        ("order", "item", "quantity", "unit", "storage"),
        3,
    ),
    "contacts": Section(
        "contacts", _("External contacts"), Contact, None, ("order", "kind", "name", "phone"), 2
    ),
}


def section_formset(section: Section, plan: Plan, data: Any = None, *, team: str = "") -> BaseInlineFormSet:
    kwargs: dict[str, Any] = {"extra": section.extra, "can_delete": section.can_delete}
    if section.form is not None:
        kwargs["form"] = section.form
    else:
        kwargs["fields"] = section.fields
        kwargs["widgets"] = {
            "criteria": SHORT_TEXTAREA,
            "order": forms.NumberInput(attrs={"style": "width:5rem"}),
        }
    factory = inlineformset_factory(Plan, section.model, **kwargs)
    queryset = section.model._default_manager.filter(plan=plan)  # type: ignore[attr-defined]
    if section.key == "steps" and team:
        queryset = queryset.filter(team=team)
    formset = factory(data, instance=plan, queryset=queryset, prefix=section.key)
    if section.key == "steps":
        positions = plan.positions.all()
        if team:
            positions = positions.filter(team=team)
        for form in formset.forms:
            form.fields["position"].queryset = positions  # type: ignore[attr-defined]
            if team:
                form.instance.team = team
    return formset


def holders_formset(position: Position, people: QuerySet[User], data: Any = None) -> BaseInlineFormSet:
    factory = inlineformset_factory(Position, PositionHolder, form=HolderForm, extra=2, can_delete=True)
    formset = factory(data, instance=position, prefix=f"h{position.pk}")
    for form in formset.forms:
        form.fields["user"].queryset = people  # type: ignore[attr-defined]
        form.fields["user"].required = False
    return formset
