"""Input for the supplies pages. Quantities are checked against the item (whole units) by the services;
the forms check shape and choices."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from linli.core.templatetags.linli import qty
from linli.supplies.models import Item, Lot, Movement, StoragePoint, SupplierAgreement, Target
from linli.tasks.models import Team

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ItemChoice(forms.ModelChoiceField):
    on_hand: dict[int, Any] | None = None

    def label_from_instance(self, obj: Any) -> str:
        if self.on_hand is not None:
            return _("%(item)s · %(n)s %(unit)s on hand") % {
                "item": obj.label,
                "n": qty(self.on_hand.get(obj.pk, 0)),
                "unit": obj.unit,
            }
        return f"{obj.label} ({obj.unit})"


def offer_stock_at(form: forms.Form, point: StoragePoint) -> None:
    """Issue and transfer offer only what the point holds, with how much of it is usable."""
    from linli.supplies.selectors import point_stock

    usable = {s.item.pk: s.on_hand for s in point_stock(point) if s.on_hand or s.expired}
    field: ItemChoice = form.fields["item"]  # type: ignore[assignment]
    field.queryset = Item.objects.filter(pk__in=usable)
    field.on_hand = usable


def _item_field(**kwargs: Any) -> ItemChoice:
    return ItemChoice(label=_("Item"), queryset=Item.objects.all(), **kwargs)


class QuantityInput(forms.CharField):
    """Text, not a number field: the service says "counted in whole 套" instead of a browser tooltip."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Quantity"))
        super().__init__(
            max_length=20,
            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            **kwargs,
        )


class ReceiveForm(forms.Form):
    item = _item_field()
    quantity = QuantityInput()
    expiry = forms.DateField(label=_("Expiry"), required=False, widget=DATE)
    batch = forms.CharField(label=_("Batch"), max_length=60, required=False)
    source = forms.ChoiceField(
        label=_("Source"), choices=[c for c in Lot.Source.choices if c[0] not in ("transfer", "opening")]
    )
    agreement = forms.ModelChoiceField(
        label=_("Delivered under agreement"), queryset=SupplierAgreement.objects.none(), required=False
    )
    supplier = forms.CharField(label=_("Supplier or donor"), max_length=100, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, agreements: QuerySet[SupplierAgreement], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agreement"].queryset = agreements  # type: ignore[attr-defined]


class IssueForm(forms.Form):
    item = _item_field()
    quantity = QuantityInput()
    recipient = forms.ChoiceField(label=_("Issued to"), choices=Movement.Recipient.choices, initial="team")
    team = forms.ChoiceField(
        label=_("Team"),
        choices=[("", "—"), *Team.choices],
        required=False,
        help_text=_("When issued to a team."),
    )
    response: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Response"), queryset=None, required=False
    )  # type: ignore[arg-type]
    household = forms.CharField(
        label=_("Household (building-unit-room)"),
        max_length=40,
        required=False,
        help_text=_("For example 12-1-301"),
    )
    note = forms.CharField(label=_("Recipient or note"), max_length=300, required=False)
    override_reason = forms.CharField(
        label=_("Issue expired stock, because"),
        max_length=200,
        required=False,
        help_text=_("Leave empty: expired lots are never issued without a reason, and the reason is logged."),
    )

    def __init__(self, *args: Any, responses: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["response"].queryset = responses  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        """The field the chosen recipient needs is marked on that field, not only above the form."""
        data = super().clean() or {}
        needed = {"team": "team", "response": "response", "household": "household", "other": "note"}
        field = needed.get(data.get("recipient", ""))
        if field and not data.get(field):
            self.add_error(field, _("Fill this in for the recipient you chose."))
        return data


class TransferForm(forms.Form):
    item = _item_field()
    quantity = QuantityInput()
    destination = forms.ModelChoiceField(label=_("To storage point"), queryset=StoragePoint.objects.none())
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, destinations: QuerySet[StoragePoint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["destination"].queryset = destinations  # type: ignore[attr-defined]


class AdjustForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What happened"),
        choices=[
            ("adjust_in", _("Found more (add)")),
            ("adjust_out", _("Missing or damaged (remove)")),
            ("dispose", _("Disposed / donated (remove)")),
        ],
    )
    quantity = QuantityInput()
    reason = forms.CharField(label=_("Reason"), max_length=200)


class PointForm(forms.ModelForm):
    class Meta:
        model = StoragePoint
        fields = ["community", "name", "address", "keeper", "phone", "active"]

    def __init__(self, *args: Any, communities: QuerySet[Any], street_level: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["community"]
        field.queryset = communities  # type: ignore[attr-defined]
        field.required = not street_level
        if street_level:
            field.empty_label = _("— the street warehouse —")  # type: ignore[attr-defined]
        elif communities.count() == 1:
            field.initial = communities.first()


class AgreementForm(forms.ModelForm):
    item = _item_field()

    class Meta:
        model = SupplierAgreement
        fields = [
            "community",
            "supplier",
            "contact",
            "phone",
            "item",
            "quantity",
            "lead_time_hours",
            "valid_from",
            "valid_until",
        ]
        widgets = {"valid_from": DATE, "valid_until": DATE}

    def __init__(self, *args: Any, communities: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities  # type: ignore[attr-defined]
        self.fields["community"].empty_label = _("— the whole street —")  # type: ignore[attr-defined]


class TargetForm(forms.Form):
    item = _item_field()
    days = forms.IntegerField(label=_("Days of supply"), min_value=1, max_value=365, initial=30)
    basis = forms.ChoiceField(label=_("Reckoned from"), choices=Target.Basis.choices)
    per_person_day = forms.DecimalField(
        label=_("Use per resident per day"), required=False, max_digits=12, decimal_places=5, min_value=0
    )
    plan: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Plan"), queryset=None, required=False)  # type: ignore[arg-type]
    quantity = forms.DecimalField(
        label=_("Target quantity"), required=False, max_digits=14, decimal_places=3, min_value=0
    )

    def __init__(self, *args: Any, plans: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans  # type: ignore[attr-defined]


class RequestForm(forms.Form):
    team = forms.ChoiceField(label=_("Team"), choices=Team.choices, initial=Team.LOGISTICS)
    item = _item_field()
    quantity = QuantityInput()
    note = forms.CharField(label=_("What it is for"), max_length=300, required=False)


class OpeningImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx, .xls or .csv)"))
    area = forms.ChoiceField(label=_("Stock of"))

    def __init__(self, *args: Any, areas: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = areas  # type: ignore[attr-defined]
        if len(areas) == 1:
            self.fields["area"].initial = areas[0][0]
