from django.urls import path

from linli.response import views

app_name = "response"
urlpatterns = [
    path("responses/", views.response_list, name="list"),
    path("responses/drills/", views.drills, name="drills"),
    path("responses/<int:pk>/", views.detail, name="detail"),
    path("responses/<int:pk>/on-duty/", views.on_duty, name="on_duty"),
    path("responses/<int:pk>/note/", views.note, name="note"),
    path("responses/<int:pk>/sitrep/", views.sitrep, name="sitrep"),
    path("responses/<int:pk>/level/", views.level, name="level"),
    path("responses/<int:pk>/assign/", views.assign, name="assign"),
    path("responses/<int:pk>/terminate/", views.terminate, name="terminate"),
    path("responses/<int:pk>/review/", views.review, name="review"),
]
