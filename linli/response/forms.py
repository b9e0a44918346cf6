from __future__ import annotations

from django import forms

from linli.response.models import SituationReport


class SitrepForm(forms.ModelForm):
    class Meta:
        model = SituationReport
        fields = ["situation", "objectives", "actions", "resources", "needs"]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields}
