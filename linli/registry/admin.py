from django.contrib import admin

from linli.registry.models import Building, Community, Grid, Street


@admin.register(Street)
class StreetAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "street")
    list_filter = ("street",)
    search_fields = ("code", "name")


@admin.register(Grid)
class GridAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "community", "leader")
    list_filter = ("community",)


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ("number", "community", "grid", "worker", "contact_name")
    list_filter = ("community", "grid")
