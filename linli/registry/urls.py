from django.urls import path

from linli.registry import views

app_name = "registry"
urlpatterns = [
    path("residents/", views.residents, name="residents"),
    path("residents/export.xlsx", views.residents_export_view, name="residents_export"),
    path("residents/new/", views.resident_new, name="resident_new"),
    path("residents/<int:pk>/", views.resident_detail, name="resident"),
    path("residents/<int:pk>/edit/", views.resident_edit, name="resident_edit"),
    path("residents/<int:pk>/reveal/<str:field>/", views.resident_reveal_view, name="resident_reveal"),
    path("households/<int:pk>/", views.household_detail, name="household"),
    path("buildings/", views.buildings, name="buildings"),
    path("buildings/new/", views.building_new, name="building_new"),
    path("buildings/<int:pk>/", views.building_detail, name="building"),
    path("buildings/<int:pk>/edit/", views.building_edit, name="building_edit"),
    path("imports/", views.imports, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import"),
    path("imports/<int:pk>/commit/", views.import_commit_view, name="import_commit"),
    path("imports/<int:pk>/cancel/", views.import_cancel_view, name="import_cancel"),
    path("imports/<int:pk>/errors.xlsx", views.import_errors, name="import_errors"),
]
