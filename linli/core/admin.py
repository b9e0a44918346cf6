from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from linli.core.models import AuditLog, ImportJob, User


@admin.register(User)
class LinliUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "role", "street", "community", "grid", "is_active")
    list_filter = ("role", "is_active", "street", "community")
    search_fields = ("username", "display_name", "phone")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (
            "Linli",
            {
                "fields": (
                    "display_name",
                    "phone",
                    "role",
                    "street",
                    "community",
                    "grid",
                    "is_service_account",
                )
            },
        ),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Linli", {"fields": ("display_name", "phone", "role", "street", "community", "grid")}),
    )


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "target_label", "detail", "ip", "via")
    list_filter = ("action", "via")
    search_fields = ("actor_label", "target_label", "detail", "ip")
    date_hierarchy = "at"

    # The audit log is evidence: nobody edits or deletes it from the back office.
    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "filename", "community", "status", "rows", "accepted", "rejected")
    list_filter = ("kind", "status")
    exclude = ("content",)
    readonly_fields = [f.name for f in ImportJob._meta.fields if f.name != "content"]
