from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.api.models import Department, Permission
from linli.api.selectors import ScopeChoice
from linli.core.roles import Role

ROLE_CHOICES = [
    (Role.DEPARTMENT.value, _("Department system — sends lists and reads results, changes nothing else")),
    (Role.OBSERVER.value, _("Read only — looks, changes nothing")),
    (
        "admin",
        _(
            "Administrator of the area — everything an administrator may do (only for the street office's own systems)"
        ),
    ),
]
# Short names for the list's badges (the form shows the full sentences).
PERMISSION_SHORT = {
    Permission.DISPATCH.value: _("dispatched lists"),
    Permission.REPORTS.value: _("daily report"),
    Permission.WEBHOOKS.value: _("webhooks"),
    Permission.BROADCASTS.value: _("broadcasts"),
    Permission.READ.value: _("registers (masked)"),
    Permission.FULL.value: _("everything its role allows"),
}
DEFAULT_PERMISSIONS = [Permission.DISPATCH.value, Permission.REPORTS.value, Permission.WEBHOOKS.value]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("Who uses it and for what, e.g. 区疾控中心 协查推送. It appears in the audit log."),
    )
    department = forms.ChoiceField(label=_("Department"), choices=[("", "—"), *Department.choices])
    scope = forms.ChoiceField(
        label=_("Area"), help_text=_("The token sees and changes only what lies in this street or community.")
    )
    permissions = forms.MultipleChoiceField(
        label=_("Allowed to"),
        choices=Permission.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=DEFAULT_PERMISSIONS,
        help_text=_("Give only what the system needs. Anything else it tries is refused."),
        error_messages={"required": _("Tick at least one thing the system may do.")},
    )
    role = forms.ChoiceField(
        label=_("Acts as"), choices=ROLE_CHOICES, initial=Role.DEPARTMENT.value, widget=forms.RadioSelect
    )
    # A one-time value: the page that shows the token must not make a second one when it is reloaded.
    once = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, scopes: list[ScopeChoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(s.code, s.label) for s in scopes]
        self.fields["scope"].choices = choices  # type: ignore[attr-defined]
        if len(choices) == 1:
            self.fields["scope"].initial = choices[0][0]
