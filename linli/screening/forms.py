from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.screening.models import Tube


class CampaignForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("place or thing", "name"), max_length=100, required=False)
    day = forms.DateField(
        label=_("testing day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    starts_at = forms.TimeField(
        label=_("sampling starts"),
        initial=dt.time(7, 0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    ends_at = forms.TimeField(
        label=_("sampling ends"),
        initial=dt.time(18, 0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    slot_minutes = forms.TypedChoiceField(
        label=_("minutes per time slot"),
        coerce=int,
        initial=30,
        choices=[(15, "15"), (20, "20"), (30, "30"), (60, "60")],
    )
    pool_size = forms.TypedChoiceField(
        label=_("people per tube"),
        coerce=int,
        initial=10,
        choices=[(10, _("10 in 1")), (20, _("20 in 1")), (1, _("single tube"))],
    )
    buildings = forms.MultipleChoiceField(
        label=_("buildings"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave all unticked for the whole community."),
    )
    note = forms.CharField(label=_("notes"), max_length=300, required=False)

    def __init__(
        self, *args: object, building_choices: list[tuple[str, str]] | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["buildings"].choices = building_choices or []  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial.setdefault("day", timezone.localdate() + dt.timedelta(days=1))


class SiteForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("place or thing", "name"), max_length=100, required=False)
    place = forms.CharField(label=_("where"), max_length=200, required=False)
    normal_per_hour = forms.IntegerField(
        label=_("normal lane / hour"), min_value=0, max_value=2000, initial=120
    )
    priority_per_hour = forms.IntegerField(
        label=_("priority lane / hour"), min_value=0, max_value=2000, initial=40
    )
    controlled_per_hour = forms.IntegerField(
        label=_("separate route / hour"), min_value=0, max_value=2000, initial=0
    )


class MoveForm(forms.Form):
    building = forms.IntegerField()
    site = forms.IntegerField()
    start = forms.CharField(max_length=5)

    def clean_start(self) -> dt.time:
        try:
            return dt.datetime.strptime(self.cleaned_data["start"], "%H:%M").time()
        except ValueError as exc:
            raise forms.ValidationError(_("Choose a time.")) from exc


class ResultForm(forms.Form):
    tube = forms.IntegerField()
    result = forms.ChoiceField(choices=[(Tube.Result.NEGATIVE, ""), (Tube.Result.POSITIVE, "")])


class ResultsUploadForm(forms.Form):
    file = forms.FileField(label=_("results file (.xlsx, .xls or .csv)"))
