"""Input checks for the broadcast pages: composing a notice and editing a template."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.comms.models import Channel, NoticeTemplate
from linli.comms.models.broadcasts import Audience, Broadcast
from linli.registry.models import Building, SpecialKind

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
STAFF_CHANNEL_CHOICES = [
    (Channel.SMS.value, _("SMS (by each person's settings)")),
    (Channel.EMAIL.value, _("email (by each person's settings)")),
    (Channel.WECOM.value, Channel.WECOM.label),
    (Channel.DINGTALK.value, Channel.DINGTALK.label),
]


class ComposeForm(forms.Form):
    audience = forms.ChoiceField(
        label=pgettext_lazy("notice", "To"), choices=Audience.choices, widget=forms.RadioSelect
    )
    scope = forms.ChoiceField(
        label=pgettext_lazy("notice", "Who"), choices=Broadcast.Scope.choices, widget=forms.RadioSelect
    )
    buildings = forms.TypedMultipleChoiceField(
        label=_("Buildings"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    special_kinds = forms.MultipleChoiceField(
        label=_("Special populations"),
        choices=SpecialKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    template = forms.TypedChoiceField(label=_("Template"), coerce=int, required=False, empty_value=None)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    body = forms.CharField(
        label=pgettext_lazy("notice", "Text"), widget=forms.Textarea(attrs={"rows": 6}), required=False
    )
    sms = forms.BooleanField(label=_("SMS to residents' phones"), required=False)
    public = forms.BooleanField(label=_("On the public notice board"), required=False)
    staff_channels = forms.MultipleChoiceField(
        label=_("Also by"), choices=STAFF_CHANNEL_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    require_ack = forms.BooleanField(label=_("Ask for confirmation"), required=False)
    ack_deadline = forms.DateTimeField(label=_("Confirm by"), required=False, widget=DATETIME)

    def __init__(
        self,
        *args: Any,
        buildings: list[Building],
        templates: list[NoticeTemplate],
        grid_only: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.building_objects = {b.pk: b for b in buildings}
        self.fields["buildings"].choices = [(b.pk, b.number) for b in buildings]  # type: ignore[attr-defined]
        self.fields["template"].choices = [("", _("— none —"))] + [  # type: ignore[attr-defined]
            (t.pk, t.name if t.community_id else f"{t.name} · {_('built-in')}") for t in templates
        ]
        if grid_only:
            # Grid leaders send to their own grid's buildings only.
            scope: Any = self.fields["scope"]
            scope.choices = [(Broadcast.Scope.BUILDINGS.value, Broadcast.Scope.BUILDINGS.label)]

    @staticmethod
    def default_deadline() -> dt.datetime:
        return (timezone.localtime() + dt.timedelta(hours=2)).replace(second=0, microsecond=0)

    def channels(self) -> list[str]:
        data = self.cleaned_data
        if data.get("audience") == Audience.STAFF:
            return [Channel.INAPP.value, *data.get("staff_channels", [])]
        return [Channel.SMS.value] if data.get("sms") else []

    def chosen_buildings(self) -> list[Building]:
        return [
            self.building_objects[pk]
            for pk in self.cleaned_data.get("buildings", [])
            if pk in self.building_objects
        ]


class TemplateForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("notice", "Name"), max_length=100)
    audience = forms.ChoiceField(label=pgettext_lazy("notice", "To"), choices=Audience.choices)
    title = forms.CharField(label=_("Title"), max_length=100)
    body = forms.CharField(
        label=pgettext_lazy("notice", "Text"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Placeholders: {community} and {phone} (the community's name and office phone) and {date} (today) "
            "are filled in; {time} and {place} are left for the sender to write."
        ),
    )
    key = forms.SlugField(
        label=_("Key for the API"),
        max_length=50,
        required=False,
        help_text=_("Optional: the name other systems use for this template, e.g. water-cut."),
    )
