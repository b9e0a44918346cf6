from django.urls import path

from linli.response import views

app_name = "response"
urlpatterns = [
    path("responses/", views.response_list, name="list"),
    path("responses/drills/", views.drills, name="drills"),
    path("responses/<int:pk>/", views.detail, name="detail"),
    path("responses/<int:pk>/do/<slug:action>/", views.act, name="act"),
    path("responses/<int:pk>/terminate/", views.terminate, name="terminate"),
    path("responses/<int:pk>/review/", views.review, name="review"),
]
