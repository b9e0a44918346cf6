"""Every page of the demo a new user clicks through renders, for the commander and a grid leader."""

from __future__ import annotations

import pytest
from django.test import Client

from linli.core.models import User
from linli.plans.demo import seed_demo_plans
from linli.plans.models import Plan
from linli.registry.demo import DEMO_PASSWORD, seed_demo
from linli.response.demo import seed_demo_drill
from linli.response.models import Response
from linli.response.services import response_activate
from linli.screening.codes import household_token
from linli.screening.demo import seed_demo_screening
from linli.screening.models import Campaign, Participant


@pytest.mark.django_db
def test_the_demo_pages_render_for_commander_and_grid_leader(client: Client) -> None:
    seed_demo(log=lambda *_: None)
    plans = seed_demo_plans()
    drill = seed_demo_drill()
    assert len(plans) == 4 and drill is not None and drill.score is not None
    live = response_activate(
        actor=User.objects.get(username="commander"), plan=plans[1], level=4, reason="3号楼停水"
    )
    plan = Plan.objects.get(pk=plans[0].pk)
    assert seed_demo_screening()
    campaign = Campaign.objects.get()
    site = campaign.sites.first()
    assert site is not None
    household = Participant.objects.filter(campaign=campaign).first()
    assert household is not None
    urls = [
        "/",
        "/plans/",
        f"/plans/{plan.pk}/",
        f"/plans/{plan.pk}/cards/",
        "/responses/",
        "/responses/drills/",
        f"/responses/{live.pk}/",
        f"/responses/{drill.pk}/",
        f"/responses/{drill.pk}/review/",
        "/tasks/",
        "/tasks/overdue/",
        "/notifications/",
        "/screening/",
        f"/screening/{campaign.pk}/",
        f"/screening/{campaign.pk}/coverage/",
        f"/screening/{campaign.pk}/results/",
        f"/screening/{campaign.pk}/households/?building={household.building_id}",
        f"/checkin/{campaign.pk}/",
        f"/q/{site.token}/",
        f"/t/{household_token(campaign.pk, household.household_id)}/",
    ]
    commander_only = [
        f"/plans/{plan.pk}/edit/",
        f"/plans/{plan.pk}/edit/staffing/",
        f"/plans/{plan.pk}/edit/steps/?team=liaison",
        f"/plans/{plan.pk}/edit/levels/",
        f"/plans/{plan.pk}/edit/positions/",
        f"/plans/{plan.pk}/edit/supplies/",
        f"/plans/{plan.pk}/edit/contacts/",
        f"/plans/{plan.pk}/activate/",
        f"/plans/{plan.pk}/copy/",
        f"/responses/{live.pk}/terminate/",
    ]
    for username, pages in (("commander", urls + commander_only), ("leader1", urls)):
        assert client.login(username=username, password=DEMO_PASSWORD)
        for url in pages:
            assert client.get(url).status_code == 200, (username, url)
        client.logout()
    assert Response.objects.filter(is_drill=True, status="terminated").count() == 1
