from django.urls import path

from linli.plans import views

app_name = "plans"
urlpatterns = [
    path("plans/", views.plan_index, name="list"),
    path("plans/<int:pk>/", views.plan_detail, name="detail"),
    path("plans/<int:pk>/copy/", views.plan_copy_view, name="copy"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="edit"),
    path("plans/<int:pk>/edit/staffing/", views.plan_staffing, name="staffing"),
    path("plans/<int:pk>/edit/<slug:section>/", views.plan_edit_section, name="edit_section"),
    path("plans/<int:pk>/archive/", views.plan_archive, name="archive"),
    path("plans/<int:pk>/cards/", views.plan_cards, name="cards"),
    path("plans/<int:pk>/export.<str:fmt>", views.plan_export, name="export"),
    path("plans/<int:pk>/live/", views.plan_live, name="live"),
    path("plans/<int:pk>/activate/", views.plan_activate, name="activate"),
]
