"""Forms for the volunteer pages. Weekly availability is 21 checkboxes (7 days × morning, afternoon,
evening) folded into one integer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from linli.registry.models import Building
from linli.volunteers.models import (
    DAYS,
    PERIODS,
    Certificate,
    EnterpriseTeam,
    Injury,
    Skill,
    Tier,
    Training,
    Volunteer,
)
from linli.volunteers.services import clean_credit_code, clean_id_number, clean_phone

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
AVAILABILITY_CHOICES = [(str(d * 3 + p), f"{DAYS[d]} {PERIODS[p][2]}") for d in range(7) for p in range(3)]


class SkillsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Any) -> str:
        return obj.label


class AvailabilityField(forms.MultipleChoiceField):
    """The 21 periods of the week as checkboxes; cleans to the bit mask."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=AVAILABILITY_CHOICES, required=False, **kwargs)

    def clean(self, value: Any) -> int:  # type: ignore[override]
        picked = super().clean(value)
        return sum(1 << int(v) for v in picked)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int):
            return [str(i) for i in range(21) if value >> i & 1]
        return value


def _checked(check: Any, value: Any) -> Any:
    """Run one of the services' checks in a form's clean_<field>, so every problem shows at once."""
    try:
        return check(value)
    except ValidationError as exc:
        raise forms.ValidationError(exc.messages) from None


def _password() -> forms.CharField:
    return forms.CharField(
        label=_("Choose a password"),
        min_length=8,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"min_length": _("Use at least 8 characters.")},
    )


class SignUpForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        help_text=_("You sign in with this number."),
    )
    password = _password()
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=20,
        required=False,
        help_text=_("Needed for volunteer insurance; shown masked to staff."),
    )
    building = forms.ModelChoiceField(
        label=_("Where you live"), queryset=Building.objects.none(), required=False
    )
    skills = SkillsField(label=_("What you can do"), queryset=Skill.objects.all(), required=False)
    availability = AvailabilityField(label=_("When you are usually free"))
    on_call = forms.BooleanField(label=_("Call me at any time, nights too, in an emergency"), required=False)
    consent = forms.BooleanField(label=_("I have read the volunteer agreement above and accept it"))

    def clean_phone(self) -> str:
        return _checked(clean_phone, self.cleaned_data["phone"])  # type: ignore[no-any-return]

    def clean_id_number(self) -> str:
        return _checked(clean_id_number, self.cleaned_data["id_number"])  # type: ignore[no-any-return]

    def __init__(self, *args: Any, community: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = Building.objects.filter(community=community)  # type: ignore[attr-defined]


class VolunteerForm(forms.ModelForm):
    skills = SkillsField(label=_("Skills"), queryset=Skill.objects.all(), required=False)
    availability = AvailabilityField(label=_("Weekly availability"))

    class Meta:
        model = Volunteer
        fields = [
            "name",
            "phone",
            "id_number",
            "community",
            "building",
            "tier",
            "skills",
            "availability",
            "on_call",
            "insurer",
            "policy_number",
            "cover",
            "insured_until",
            "notes",
        ]
        widgets = {"insured_until": DATE}

    def __init__(self, *args: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities  # type: ignore[attr-defined]
        community = self.instance.community if self.instance.community_id else communities.first()
        self.fields["building"].queryset = Building.objects.filter(community__in=communities)  # type: ignore[attr-defined]
        if community is not None and not self.instance.pk:
            self.fields["community"].initial = community


class CertificateForm(forms.ModelForm):
    skill = forms.ModelChoiceField(
        label=_("Skill it confirms"), queryset=Skill.objects.filter(needs_certificate=True)
    )

    class Meta:
        model = Certificate
        fields = ["skill", "number", "issuer", "issued_on", "expires_on", "scan"]
        widgets = {"issued_on": DATE, "expires_on": DATE}

    def clean_scan(self) -> Any:
        scan = self.cleaned_data.get("scan")
        if scan and getattr(scan, "size", 0) > 10 * 1024 * 1024:
            raise forms.ValidationError(_("The scan is larger than 10 MB."))
        if scan and not str(getattr(scan, "name", "")).lower().endswith((".jpg", ".jpeg", ".png", ".pdf")):
            raise forms.ValidationError(_("Upload the scan as a JPG, PNG or PDF."))
        return scan


class TrainingForm(forms.ModelForm):
    class Meta:
        model = Training
        fields = ["kind", "title", "on", "hours", "provider"]
        widgets = {"on": DATE}


class InjuryForm(forms.ModelForm):
    class Meta:
        model = Injury
        fields = ["occurred_at", "description", "treatment", "claim"]
        widgets = {"occurred_at": DATETIME, "description": forms.Textarea(attrs={"rows": 3})}


class OwnInjuryForm(forms.ModelForm):
    """What a volunteer reports themselves; the claim's progress is the community's to record."""

    class Meta:
        model = Injury
        fields = ["occurred_at", "description"]
        widgets = {"occurred_at": DATETIME}


class NeedForm(forms.Form):
    title = forms.CharField(label=_("What for"), max_length=100)
    skills = SkillsField(label=_("Skills needed"), queryset=Skill.objects.all())
    count = forms.IntegerField(label=_("People needed"), min_value=1, max_value=500, initial=2)
    building = forms.ModelChoiceField(label=_("Building"), queryset=Building.objects.none(), required=False)
    place = forms.CharField(label=_("Place"), max_length=100, required=False)
    starts_at = forms.DateTimeField(label=_("Starts"), widget=DATETIME)
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DATETIME)
    response: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("For the response"), queryset=None, required=False
    )  # type: ignore[arg-type]

    def __init__(self, *args: Any, community: Any, responses: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = Building.objects.filter(community=community)  # type: ignore[attr-defined]
        self.fields["response"].queryset = responses  # type: ignore[attr-defined]


class EnterpriseForm(forms.Form):
    name = forms.CharField(label=_("Enterprise name"), max_length=100)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=18, min_length=18)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    contact = forms.CharField(label=_("Contact person"), max_length=50)
    phone = forms.CharField(
        label=_("Contact's mobile phone"), max_length=20, help_text=_("You sign in with this number.")
    )
    password = _password()

    def clean_phone(self) -> str:
        return _checked(clean_phone, self.cleaned_data["phone"])  # type: ignore[no-any-return]

    def clean_credit_code(self) -> str:
        return _checked(clean_credit_code, self.cleaned_data["credit_code"])  # type: ignore[no-any-return]


class EnterpriseTeamForm(forms.ModelForm):
    class Meta:
        model = EnterpriseTeam
        fields = ["name", "speciality", "full_time", "part_time", "equipment", "leader", "phone"]
        widgets = {"equipment": forms.Textarea(attrs={"rows": 2})}


class EnrolForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx, .xls or .csv)"))
    enterprise: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Enterprise"), queryset=None)  # type: ignore[arg-type]
    community: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("They serve the community"), queryset=None
    )  # type: ignore[arg-type]

    def __init__(self, *args: Any, enterprises: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["enterprise"].queryset = enterprises  # type: ignore[attr-defined]
        self.fields["community"].queryset = communities  # type: ignore[attr-defined]
        for name, qs in (("enterprise", enterprises), ("community", communities)):
            if qs.count() == 1:
                self.fields[name].initial = qs.first()


TIER_CHOICES = [("", _("All tiers")), *Tier.choices]
