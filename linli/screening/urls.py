from linli.screening.views import campaigns, checkin, public

app_name = "screening"
urlpatterns = campaigns.urlpatterns + checkin.urlpatterns + public.urlpatterns
