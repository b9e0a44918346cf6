from linli.health.views import board, keysites, pharmacy, selfreport, visits

app_name = "health"
# The residents' page first: it takes the morning rush (see config/urls.py).
urlpatterns = (
    selfreport.urlpatterns
    + board.urlpatterns
    + visits.urlpatterns
    + keysites.urlpatterns
    + pharmacy.urlpatterns
)
