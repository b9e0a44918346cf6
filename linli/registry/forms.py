from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.core.identity import InvalidIdentity, normalize_optional_phone, parse_id_number
from linli.core.selectors import community_staff
from linli.registry.address import clean_building, clean_entrance, clean_room
from linli.registry.models import RECORDED_KINDS, Building, Community, Grid, Relation, Residency, SpecialKind
from linli.registry.services import RESIDENT_INPUT_FIELDS

# Phones bring up the number keypad; the server still accepts +86, spaces and dashes.
TEL = {"inputmode": "tel", "autocomplete": "off"}


def clean_phone_field(value: object) -> str:
    try:
        return normalize_optional_phone(value)
    except InvalidIdentity as exc:
        raise forms.ValidationError(str(exc)) from exc


class ResidentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=30,
        help_text=_("18 characters (or an old 15-digit number); birth date and sex follow from it."),
    )
    phone = forms.CharField(
        label=_("Phone"), max_length=30, required=False, widget=forms.TextInput(attrs=TEL)
    )
    building = forms.ModelChoiceField(label=_("Building"), queryset=Building.objects.none())
    entrance = forms.CharField(label=_("Entrance"), max_length=10, required=False)
    room = forms.CharField(label=_("Room"), max_length=20)
    relation = forms.ChoiceField(label=_("Relation to householder"), choices=Relation.choices)
    residency = forms.ChoiceField(label=_("Residency"), choices=Residency.choices)
    special = forms.MultipleChoiceField(
        label=_("Special populations"),
        choices=[(k.value, k.label) for k in RECORDED_KINDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("“Over 80” and “infant” follow from the birth date."),
    )
    contact_name = forms.CharField(label=_("Family contact"), max_length=50, required=False)
    contact_phone = forms.CharField(
        label=_("Family contact phone"), max_length=30, required=False, widget=forms.TextInput(attrs=TEL)
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, buildings: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings  # type: ignore[attr-defined]

    def clean_id_number(self) -> str:
        try:
            return parse_id_number(self.cleaned_data["id_number"]).number
        except InvalidIdentity as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_phone(self) -> str:
        return clean_phone_field(self.cleaned_data.get("phone"))

    def clean_contact_phone(self) -> str:
        return clean_phone_field(self.cleaned_data.get("contact_phone"))

    def clean_entrance(self) -> str:
        return clean_entrance(self.cleaned_data.get("entrance", ""))

    def clean_room(self) -> str:
        room = clean_room(self.cleaned_data["room"])
        if not room:
            raise forms.ValidationError(_("Enter the room number."))
        return room

    def resident_data(self) -> dict[str, Any]:
        return {k: self.cleaned_data[k] for k in RESIDENT_INPUT_FIELDS}


class BuildingForm(forms.ModelForm):
    class Meta:
        model = Building
        fields = ["number", "grid", "worker", "floors", "address", "contact_name", "contact_phone"]
        widgets = {"contact_phone": forms.TextInput(attrs=TEL)}

    def __init__(self, *args: Any, community: Community, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.community = community
        self.fields["grid"].queryset = Grid.objects.filter(community=community)  # type: ignore[attr-defined]
        self.fields["worker"].queryset = community_staff(community.pk)  # type: ignore[attr-defined]

    def clean_number(self) -> str:
        number = clean_building(self.cleaned_data["number"])
        if not number:
            raise forms.ValidationError(_("Enter the building number."))
        clash = Building.objects.filter(community=self.community, number=number).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("Building %(n)s already exists in this community.") % {"n": number})
        return number

    def clean_contact_phone(self) -> str:
        return clean_phone_field(self.cleaned_data.get("contact_phone"))


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx, .xls or .csv)"))
    community = forms.ModelChoiceField(label=_("Community"), queryset=Community.objects.none())
    create_buildings = forms.BooleanField(
        label=_("Create buildings that are not registered yet"),
        required=False,
        help_text=_("Leave unticked to catch typos in building numbers."),
    )

    def __init__(self, *args: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities  # type: ignore[attr-defined]
        if communities.count() == 1:
            self.fields["community"].initial = communities.first()


SPECIAL_FILTER_CHOICES = [("", _("All residents")), ("any", _("Any special population"))] + [
    (k.value, k.label) for k in SpecialKind
]
