"""Staff badges through HTTP: the administrators' list from three seats, issuing and printing, my badge page
(photo, on-duty switch), and the public check page for valid, revoked and unknown codes."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from PIL import Image

from linli.comms import badges as svc
from linli.comms.models import Badge
from linli.comms.tests.test_badges import NOON, photo_upload, volunteer_account
from linli.comms.views import badges as views
from linli.conftest import World
from linli.core.models import AuditLog
from linli.core.ratelimit import clear
from linli.factories import TEST_PASSWORD, UserFactory
from linli.registry.models import Grid


@pytest.fixture(autouse=True)
def _fresh(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    views.FLOOD.reset()  # in memory: it outlives the test's database transaction


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


# --- the administrators' list: three seats -------------------------------------------------------------------------


def test_the_commander_sees_their_staff_and_volunteers_with_badge_status(
    world: World, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    account = volunteer_account(world, "周晓燕")
    svc.badge_issue(actor=world.commander, user=world.alice)
    revoked = svc.badge_issue(actor=world.commander, user=world.bob)
    svc.badge_revoke(actor=world.commander, badge=revoked)
    for n in range(8):  # more people and badges must not mean more queries
        worker = UserFactory(username=f"w{n}", role="grid_worker", grid=world.grid1)
        svc.badge_issue(actor=world.commander, user=worker)
    client = signed_in(world.commander)
    # The session and account, the menu's counts; then communities, staff, volunteers, badges, posts, duty.
    with django_assert_max_num_queries(13):
        response = client.get(reverse("comms:badges"))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'id="person-{world.alice.pk}" data-person="{world.alice.pk}" data-status="active"' in page
    assert f'data-person="{world.bob.pk}" data-status="revoked"' in page
    assert f'data-person="{account.pk}" data-status="none"' in page
    assert "周晓燕" in page
    assert world.charlie.name not in page


def test_another_communitys_administrator_sees_none_of_them_and_cannot_act(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    client = signed_in(world.charlie)
    page = client.get(reverse("comms:badges")).content.decode()
    assert world.alice.name not in page and world.bob.name not in page
    assert client.post(reverse("comms:badge_issue", args=[world.bob.pk])).status_code == 404
    assert client.post(reverse("comms:badge_revoke", args=[badge.pk])).status_code == 404
    assert client.post(reverse("comms:badge_title", args=[badge.pk]), {"title": "x"}).status_code == 404
    assert client.get(reverse("comms:badge_photo", args=[badge.pk])).status_code == 404
    assert client.get(reverse("comms:badges") + "?community=nanli").status_code == 404
    assert Badge.objects.get(pk=badge.pk).revoked_at is None


def test_outsiders_get_nothing(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    anonymous = Client()
    assert anonymous.get(reverse("comms:badges")).status_code == 302
    assert anonymous.post(reverse("comms:badge_revoke", args=[badge.pk])).status_code == 302
    # Staff who do not administer: refused; a volunteer's account is sent to its own page.
    assert signed_in(world.bob).get(reverse("comms:badges")).status_code == 403
    assert signed_in(world.bob).post(reverse("comms:badge_revoke", args=[badge.pk])).status_code == 404
    assert signed_in(world.observer).get(reverse("comms:badges_print")).status_code == 403
    volunteer = volunteer_account(world)
    assert signed_in(volunteer).get(reverse("comms:badges")).status_code == 302
    assert Badge.objects.get(pk=badge.pk).revoked_at is None


def test_the_street_office_sees_its_communities_and_picks_one(world: World) -> None:
    other_worker = UserFactory(
        username="ow", role="grid_worker", grid=Grid.objects.get(community=world.charlie.community)
    )
    client = signed_in(world.street_admin)
    page = client.get(reverse("comms:badges")).content.decode()
    assert world.alice.name in page and other_worker.name in page
    page = client.get(reverse("comms:badges") + "?community=other").content.decode()
    assert world.alice.name not in page and other_worker.name in page


def test_issue_re_issue_revoke_and_title_from_the_list(world: World) -> None:
    client = signed_in(world.commander)
    response = client.post(reverse("comms:badge_issue", args=[world.alice.pk]))
    assert response.status_code == 302 and response["Location"].endswith(f"#person-{world.alice.pk}")
    first = Badge.objects.get(user=world.alice)
    client.post(reverse("comms:badge_issue", args=[world.alice.pk]), {"replace": "1"})
    first.refresh_from_db()
    current = Badge.objects.get(user=world.alice, revoked_at__isnull=True)
    assert first.revoked_at is not None and current.pk != first.pk
    client.post(reverse("comms:badge_title", args=[current.pk]), {"title": "第1网格 网格员"})
    assert Badge.objects.get(pk=current.pk).title == "第1网格 网格员"
    client.post(reverse("comms:badge_revoke", args=[current.pk]))
    assert Badge.objects.get(pk=current.pk).revoked_at is not None
    assert "2 people have no badge yet" in client.get(reverse("comms:badges")).content.decode()
    # Issued, re-issued, role shown, revoked.
    assert AuditLog.objects.filter(target_type="comms.badge").count() == 4
    response = client.post(reverse("comms:badges_issue_missing"), {"community": "nanli"}, follow=True)
    assert "2 badges issued" in response.content.decode()
    # Bob and the commander; alice's badge was revoked on purpose, perhaps, and stays so.
    assert Badge.objects.filter(revoked_at__isnull=True).count() == 2


def test_printing_gives_a_pdf_of_valid_badges_and_is_logged(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    svc.badge_photo_set(actor=world.alice, badge=badge, upload=photo_upload())
    svc.badge_issue(actor=world.commander, user=world.bob)
    client = signed_in(world.commander)
    response = client.get(reverse("comms:badges_print"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    entry = AuditLog.objects.get(action=AuditLog.Action.EXPORT)
    assert entry.community_id == world.community.pk and "2" in entry.detail
    one = client.get(reverse("comms:badges_print") + f"?badge={badge.pk}")
    assert one.status_code == 200
    assert AuditLog.objects.filter(action=AuditLog.Action.EXPORT).first().detail.startswith("printed 1")  # type: ignore[union-attr]
    # Another community's administrator prints nothing of ours.
    other = signed_in(world.charlie).get(reverse("comms:badges_print") + f"?badge={badge.pk}")
    assert other.status_code == 302


# --- my badge ---------------------------------------------------------------------------------------------------


def test_without_a_badge_my_page_says_who_issues_it(world: World) -> None:
    page = signed_in(world.alice).get(reverse("comms:my_badge")).content.decode()
    assert "You have no badge yet" in page and world.commander.name in page
    account = volunteer_account(world)
    page = signed_in(account).get(reverse("comms:my_badge")).content.decode()
    assert "You have no badge yet" in page and world.commander.name in page


def test_my_page_shows_the_qr_and_the_switch_puts_me_on_duty(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    client = signed_in(world.alice)
    page = client.get(reverse("comms:my_badge")).content.decode()
    assert "<svg" in page and f"/b/{badge.token}/" in page and "Not on duty now" in page
    with time_machine.travel(NOON, tick=False):
        response = client.post(reverse("comms:my_badge"), {"action": "duty", "hours": "2"})
        assert response.status_code == 302
        assert Badge.objects.get(pk=badge.pk).on_duty_until == NOON + dt.timedelta(hours=2)
        page = client.get(reverse("comms:my_badge")).content.decode()
        assert "On duty now" in page and "Off duty" in page
        client.post(reverse("comms:my_badge"), {"action": "off"})
        assert not svc.duty_of(world.alice.pk).on  # off duty (recorded as "until now")


def test_my_photo_is_uploaded_checked_and_replaced(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    client = signed_in(world.alice)
    client.post(reverse("comms:my_badge"), {"action": "photo", "photo": photo_upload()})
    stored = Badge.objects.get(pk=badge.pk).photo.name
    assert stored.startswith("badges/")
    fake = io.BytesIO(b"<html>not a photo</html>")
    fake.name = "me.jpg"
    response = client.post(reverse("comms:my_badge"), {"action": "photo", "photo": fake}, follow=True)
    assert "not a photo" in response.content.decode()
    assert Badge.objects.get(pk=badge.pk).photo.name == stored
    big = io.BytesIO(b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024 + 10))
    big.name = "big.jpg"
    response = client.post(reverse("comms:my_badge"), {"action": "photo", "photo": big}, follow=True)
    assert "larger than 5 MB" in response.content.decode()


def test_a_volunteer_has_no_switch(world: World) -> None:
    account = volunteer_account(world)
    svc.badge_issue(actor=world.commander, user=account)
    client = signed_in(account)
    page = client.get(reverse("comms:my_badge")).content.decode()
    assert 'name="hours"' not in page and "accepted shift" in page
    response = client.post(reverse("comms:my_badge"), {"action": "duty", "hours": "2"}, follow=True)
    assert "checked in to a shift" in response.content.decode()


# --- the public check page --------------------------------------------------------------------------------------------


def test_a_valid_badge_shows_who_and_whether_on_duty_and_nothing_private(world: World) -> None:
    world.alice.display_name, world.alice.phone = "马美桂", "13912345678"
    world.alice.save()
    world.community.phone = "010-67001234"
    world.community.save()
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    svc.badge_photo_set(actor=world.alice, badge=badge, upload=photo_upload())
    client = Client(headers={"Accept-Language": "en"})
    response = client.get(reverse("comms:badge_check", args=[badge.token]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "noindex" in response["X-Robots-Tag"] and "no-cache" in response["Cache-Control"]
    assert (
        "马美桂" in page
        and "Grid worker" in page
        and world.community.name in page
        and world.grid1.name in page
    )
    assert "Not on duty now" in page and "010-67001234" in page
    assert "13912345678" not in page and "1391" not in page
    photo = client.get(reverse("comms:badge_check_photo", args=[badge.token]))
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(photo.streaming_content))).size[1] == 400  # type: ignore[attr-defined]
    with time_machine.travel(NOON, tick=False):
        svc.badge_duty_set(actor=world.alice, badge=badge, hours=4)
        page = client.get(reverse("comms:badge_check", args=[badge.token])).content.decode()
    assert "On duty now" in page and "Until" in page


def test_revoked_and_unknown_codes_give_the_same_page_apart_from_the_phone(world: World) -> None:
    world.community.phone = "010-67001234"
    world.community.save()
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    svc.badge_photo_set(actor=world.alice, badge=badge, upload=photo_upload())
    svc.badge_revoke(actor=world.commander, badge=badge)
    client = Client(headers={"Accept-Language": "en"})
    revoked = client.get(reverse("comms:badge_check", args=[badge.token]))
    unknown = client.get(reverse("comms:badge_check", args=["Z" * 20]))
    assert revoked.status_code == unknown.status_code == 404
    assert "no longer valid" in revoked.content.decode() and "no longer valid" in unknown.content.decode()
    assert world.alice.name not in revoked.content.decode()
    assert "010-67001234" in revoked.content.decode() and "010-67001234" not in unknown.content.decode()

    def without_phone(html: bytes) -> str:
        text = html.decode()
        text = text.replace(
            '<p>If in doubt, call the community: 010-67001234</p>\n  <a class="btn ck-call primary" href="tel:010-67001234">Call 010-67001234</a>',
            "PHONE",
        )
        return text.replace("<p>If in doubt, call your community office or 110.</p>", "PHONE")

    # CSRF tokens differ between responses; compare the page body only.
    def body(html: bytes) -> str:
        text = without_phone(html)
        return text[text.index('<div class="ck">') : text.index("</main>")]

    assert body(revoked.content) == body(unknown.content)
    assert revoked["X-Robots-Tag"] == unknown["X-Robots-Tag"]
    assert client.get(reverse("comms:badge_check_photo", args=[badge.token])).status_code == 404


def test_floods_and_guessing_get_429(world: World) -> None:
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    client = Client(headers={"Accept-Language": "en"})
    for n in range(views.GUESS_LIMIT):
        assert client.get(reverse("comms:badge_check", args=[f"{n:020d}"])).status_code == 404
    refused = client.get(reverse("comms:badge_check", args=[badge.token]))
    assert refused.status_code == 429 and refused["Retry-After"]
    clear(views._guess_key("127.0.0.1"))
    views.FLOOD.reset()
    with time_machine.travel(NOON, tick=False):  # one window of the flood counter
        for _ in range(views.FLOOD.limit):
            assert client.get(reverse("comms:badge_check", args=[badge.token])).status_code == 200
        assert client.get(reverse("comms:badge_check", args=[badge.token])).status_code == 429
        assert client.get(reverse("comms:badge_check_photo", args=[badge.token])).status_code == 429


def test_the_qr_names_the_public_address_when_set(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    settings.PUBLIC_URL = "https://linli.example.cn/"
    badge = svc.badge_issue(actor=world.commander, user=world.alice)
    page = signed_in(world.alice).get(reverse("comms:my_badge")).content.decode()
    assert f"https://linli.example.cn/b/{badge.token}/" in page


def test_everyone_reaches_their_badge_page_by_password(world: World) -> None:
    client = Client()
    assert client.login(username="alice", password=TEST_PASSWORD)
    assert client.get(reverse("comms:my_badge")).status_code == 200
