from django.urls import path

from linli.volunteers import views

app_name = "volunteers"
urlpatterns = [
    path("volunteers/", views.pool, name="pool"),
    path("volunteers/new/", views.volunteer_edit, name="new"),
    path("volunteers/<int:pk>/", views.volunteer_detail, name="detail"),
    path("volunteers/<int:pk>/edit/", views.volunteer_edit, name="edit"),
    path("volunteers/<int:pk>/reveal/", views.volunteer_reveal_view, name="reveal"),
    path("volunteers/certificates/<int:pk>/scan/", views.certificate_scan, name="scan"),
    path("volunteers/needs/", views.needs, name="needs"),
    path("volunteers/needs/<int:pk>/", views.need_detail, name="need"),
    path("volunteers/dispatch/", views.dispatch_all, name="dispatch"),
    path("volunteers/honour/", views.honour_roll, name="honour"),
    path("volunteers/enterprises/", views.enterprises, name="enterprises"),
    path("volunteers/enterprises/<int:pk>/", views.enterprise_detail, name="enterprise"),
    # Pages for volunteers and enterprise contacts, and the public sign-up.
    path("v/", views.me, name="me"),
    path("v/enrol/", views.enrol, name="enrol"),
    path("v/injury/", views.injury_report, name="injury"),
    path("v/checkin/<uuid:token>/", views.checkin, name="checkin"),
    path("v/signup/", views.sign_up, name="signup_pick"),
    path("v/signup/<slug:code>/", views.sign_up, name="signup"),
    path("v/enterprise/register/", views.enterprise_sign_up, name="enterprise_signup"),
]
