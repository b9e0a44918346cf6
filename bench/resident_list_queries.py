"""How many SQL queries a resident list costs, by page size and page: it must not grow with either.

The demo community data set (seed_demo("community"), about 13,700 residents) in its own database;
the street administrator's JSON list at page sizes 10, 50 and 200, and the HTML list on pages 1
and 3, each requested once to warm up and once under CaptureQueriesContext.
"""

from __future__ import annotations

from bench.common import Figures, Target, Timer, child_main, log, open_database

DESCRIPTION = "query count of the resident list (API page sizes 10/50/200, HTML pages 1 and 3)"
USERNAME = "street"
API = "/api/v1/registry/residents"
REQUESTS = {
    "queries_api_10": (API, {"page_size": "10"}),
    "queries_api_50": (API, {"page_size": "50"}),
    "queries_api_200": (API, {"page_size": "200"}),
    "queries_page_1": ("/residents/", {"page": "1"}),
    "queries_page_3": ("/residents/", {"page": "3"}),
}
TARGETS = {"constant": Target("==", True)}


def run() -> Figures:
    open_database("resident_list_queries")

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from linli.core.models import User
    from linli.registry.demo import seed_demo

    log("building the demo community (seed_demo('community')) …")
    with Timer() as built:
        seed_demo("community", log=log)
    log(f"built in {built.seconds:.1f} s")

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=USERNAME))
    figures: Figures = {}
    for key, (path, params) in REQUESTS.items():
        client.get(path, params)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, params)
        if response.status_code != 200:
            raise RuntimeError(f"{path} {params} answered {response.status_code}")
        figures[key] = len(captured)
    api = {figures[k] for k in REQUESTS if k.startswith("queries_api")}
    pages = {figures[k] for k in REQUESTS if k.startswith("queries_page")}
    figures["constant"] = len(api) == 1 and len(pages) == 1
    return figures


if __name__ == "__main__":
    child_main(run)
