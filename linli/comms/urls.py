from django.urls import path

from linli.comms.views import badges, broadcasts, incidents, notifications, outbox, questions

app_name = "comms"
urlpatterns = [
    path("notifications/", notifications.inbox, name="inbox"),
    path("notifications/read/", notifications.mark_read, name="mark_read"),
    *outbox.urlpatterns,
    *broadcasts.urlpatterns,
    *questions.urlpatterns,
    *incidents.urlpatterns,
    *badges.urlpatterns,
]
