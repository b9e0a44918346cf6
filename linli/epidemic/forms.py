from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.epidemic.models import ControlType, Verification

MAX_LIST_BYTES = 20 * 1024 * 1024


def _type_label(t: ControlType) -> str:
    return _("%(name)s — verify within %(h)s h") % {"name": t.name, "h": f"{t.verify_minutes / 60:g}"}


class DispatchUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Dispatched list (.xlsx, .xls or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv"}),
    )
    sender = forms.CharField(
        label=_("Sent by"),
        max_length=100,
        required=False,
        help_text=_("e.g. 区大数据中心, 区疾控中心; blank: your name"),
    )
    control_type = forms.ModelChoiceField(
        label=_("Control type of the list"),
        queryset=ControlType.objects.none(),
        empty_label=None,
        help_text=_("Used for records whose own type column is empty or absent; it sets the deadline."),
    )

    def __init__(self, *args: Any, types: list[ControlType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["control_type"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = ControlType.objects.filter(pk__in=[t.pk for t in types]).order_by("order", "id")
        field.label_from_instance = _type_label  # type: ignore[method-assign,assignment]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_LIST_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


class VerifyForm(forms.Form):
    result = forms.ChoiceField(choices=Verification.choices)
    note = forms.CharField(max_length=300, required=False)
