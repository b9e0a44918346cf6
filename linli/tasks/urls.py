from django.urls import path

from linli.tasks import views

app_name = "tasks"
urlpatterns = [
    path("tasks/", views.mine, name="mine"),
    path("tasks/overdue/", views.overdue, name="overdue"),
    path("tasks/<int:pk>/", views.detail, name="detail"),
    path("tasks/<int:pk>/status/", views.set_status, name="status"),
    path("tasks/<int:pk>/reassign/", views.reassign, name="reassign"),
]
