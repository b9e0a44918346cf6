from django.contrib import admin

from linli.supplies.models import Item, Lot, Movement, StoragePoint, SupplierAgreement, Target


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "category",
        "group",
        "unit",
        "indivisible",
        "shelf_life_days",
        "per_person_day",
    ]
    list_filter = ["category", "group"]


@admin.register(StoragePoint)
class StoragePointAdmin(admin.ModelAdmin):
    list_display = ["name", "community", "street", "keeper", "phone", "active"]


@admin.register(SupplierAgreement)
class SupplierAgreementAdmin(admin.ModelAdmin):
    list_display = ["supplier", "item", "quantity", "lead_time_hours", "valid_until"]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["community", "item", "days", "basis"]


@admin.register(Lot)
class LotAdmin(admin.ModelAdmin):
    """Read-only: stock changes only through the ledger's services."""

    list_display = ["item", "point", "batch", "expiry", "on_hand"]
    list_filter = ["point"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Movement)
class MovementAdmin(LotAdmin):
    list_display = ["at", "kind", "item", "point", "quantity", "balance_after", "actor"]
    list_filter = ["kind", "point"]
