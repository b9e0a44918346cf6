from django.urls import path

from linli.comms import views

app_name = "comms"
urlpatterns = [
    path("notifications/", views.inbox, name="inbox"),
    path("notifications/read/", views.mark_read, name="mark_read"),
]
