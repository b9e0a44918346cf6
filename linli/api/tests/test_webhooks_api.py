"""POST/GET/DELETE /api/v1/webhooks: the interface departments' systems rely on."""

from __future__ import annotations

import pytest
from django.test import Client

from linli.api.models import ApiToken
from linli.api.services import api_token_revoke
from linli.api.tests.conftest import bearer
from linli.comms.models import Channel, ChannelEndpoint, OutboxMessage
from linli.comms.outbox import webhook_event
from linli.core.models import AuditLog
from linli.factories import TEST_PASSWORD

SECRET = "k8Jq2-ZxV9-pL4r7-Wm3t"


def subscribe(client: Client, raw: str, **body: object):  # type: ignore[no-untyped-def]
    payload = {"url": "http://10.20.1.15:8080/linli", "events": ["case.created"], "secret": SECRET, **body}
    return client.post("/api/v1/webhooks", payload, content_type="application/json", headers=bearer(raw))


def test_subscribing_returns_201_with_id_url_events_and_created_at(world, client, make_token) -> None:
    raw = make_token("webhooks")
    response = subscribe(client, raw, events=["response.activated", "case.created"])
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "url", "events", "created_at"}
    assert body["url"] == "http://10.20.1.15:8080/linli"
    assert body["events"] == ["case.created", "response.activated"]
    endpoint = ChannelEndpoint.objects.get(pk=body["id"])
    token = ApiToken.objects.get(prefix=raw[:12])
    assert (endpoint.kind, endpoint.token, endpoint.secret) == (Channel.WEBHOOK, token, SECRET)
    assert endpoint.community == world.community and endpoint.is_active
    entry = AuditLog.objects.get(action="create", target_type="comms.channelendpoint")
    assert entry.actor == token.user and entry.community_id == world.community.pk
    assert SECRET not in entry.detail


def test_a_street_tokens_subscription_covers_the_street(world, client, make_token) -> None:
    raw = make_token("webhooks", role="observer", scope=world.community.street.code, department="police")
    endpoint = ChannelEndpoint.objects.get(pk=subscribe(client, raw).json()["id"])
    assert endpoint.street == world.community.street and endpoint.community is None


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "ftp://10.0.0.1/x"}, "url", "http:// or https://"),
        ({"url": "not a url"}, "url", "http:// or https://"),
        ({"url": ""}, "url", "address"),
        ({"url": "http://:80/x"}, "url", "http:// or https://"),
        ({"url": "http://host:notaport/x"}, "url", "http:// or https://"),
        ({"url": "http://10.0.0.1/" + "x" * 600}, "url", "longer than"),
        ({"events": []}, "events", "at least one event"),
        ({"events": ["case.created", "case.deleted"]}, "events", "Unknown events: case.deleted"),
        ({"secret": "short"}, "secret", "at least 16 characters"),
        ({"secret": "x" * 201}, "secret", "at most 200"),
    ],
)
def test_bad_subscriptions_are_400_with_a_clear_message(
    world, client, make_token, body, field, words
) -> None:
    response = subscribe(client, make_token("webhooks"), **body)
    assert response.status_code == 400
    data = response.json()
    assert words in data["detail"]
    assert words in " ".join(data["errors"][field])
    assert not ChannelEndpoint.objects.exists()


def test_intranet_and_single_label_hosts_are_accepted(world, client, make_token) -> None:
    raw = make_token("webhooks")
    assert subscribe(client, raw, url="http://cdc-gateway:8080/hook").status_code == 201
    assert subscribe(client, raw, url="https://[fd00::15]/hook").status_code == 201


def test_the_same_address_twice_is_a_409_naming_the_first(world, client, make_token) -> None:
    raw = make_token("webhooks")
    first = subscribe(client, raw).json()["id"]
    response = subscribe(client, raw, events=["response.activated"])
    assert response.status_code == 409
    assert response.json()["id"] == first


def test_subscribing_needs_the_webhooks_permission(world, client, make_token) -> None:
    response = subscribe(client, make_token("dispatch", "reports"))
    assert response.status_code == 403
    assert '"webhooks" permission' in response.json()["detail"]


def test_a_signed_in_person_cannot_subscribe_without_a_token(world) -> None:
    client = Client()
    client.login(username="commander", password=TEST_PASSWORD)
    response = client.post(
        "/api/v1/webhooks",
        {"url": "http://10.0.0.1/x", "events": ["case.created"], "secret": SECRET},
        content_type="application/json",
    )
    assert response.status_code == 403 and "Bearer" in response.json()["detail"]


def test_the_list_shows_only_the_callers_own_subscriptions_with_delivery_outcomes(
    world, client, make_token
) -> None:
    mine = make_token("webhooks")
    theirs = make_token("webhooks", name="派出所", department="police")
    own_id = subscribe(client, mine).json()["id"]
    subscribe(client, theirs, url="http://10.30.0.2/police")
    ChannelEndpoint.objects.filter(pk=own_id).update(last_error="answered 500")
    listed = client.get("/api/v1/webhooks", headers=bearer(mine)).json()
    assert [w["id"] for w in listed] == [own_id]
    assert set(listed[0]) == {
        "id",
        "url",
        "events",
        "created_at",
        "last_success_at",
        "last_failure_at",
        "last_error",
    }
    assert listed[0]["last_error"] == "answered 500"


def test_the_list_is_a_fixed_number_of_queries(
    world, client, make_token, django_assert_max_num_queries
) -> None:
    raw = make_token("webhooks")
    for n in range(5):
        subscribe(client, raw, url=f"http://10.0.0.{n}/h")
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/v1/webhooks", headers=bearer(raw)).json()) == 5


def test_deleting_removes_ones_own_subscription_and_cancels_what_waits(world, client, make_token) -> None:
    raw = make_token("webhooks")
    hook = subscribe(client, raw).json()["id"]
    assert (
        webhook_event(event="case.created", key="case:1", data={"id": 1}, community_id=world.community.pk)
        == 1
    )
    assert client.delete(f"/api/v1/webhooks/{hook}", headers=bearer(raw)).status_code == 204
    assert client.get("/api/v1/webhooks", headers=bearer(raw)).json() == []
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.CANCELLED
    assert (
        webhook_event(event="case.created", key="case:2", data={"id": 2}, community_id=world.community.pk)
        == 0
    )
    assert client.delete(f"/api/v1/webhooks/{hook}", headers=bearer(raw)).status_code == 404
    assert AuditLog.objects.filter(action="delete", target_id=str(hook)).count() == 1


def test_another_tokens_subscription_is_404(world, client, make_token) -> None:
    theirs = make_token("webhooks", name="派出所")
    hook = subscribe(client, theirs).json()["id"]
    assert (
        client.delete(f"/api/v1/webhooks/{hook}", headers=bearer(make_token("webhooks"))).status_code == 404
    )
    assert ChannelEndpoint.objects.get(pk=hook).is_active


def test_revoking_the_token_stops_its_webhooks(world, client, make_token) -> None:
    raw = make_token("webhooks")
    subscribe(client, raw, events=["case.created", "response.activated"])
    token = ApiToken.objects.get(prefix=raw[:12])
    assert webhook_event(event="case.created", key="case:1", data={}, community_id=world.community.pk) == 1
    api_token_revoke(actor=world.commander, token=token)
    # What was waiting is not sent, and nothing more is queued for it.
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.CANCELLED
    assert webhook_event(event="case.created", key="case:2", data={}, community_id=world.community.pk) == 0
    assert client.get("/api/v1/webhooks", headers=bearer(raw)).status_code == 401


def test_webhook_event_skips_a_revoked_tokens_endpoint_even_if_still_marked_active(world, make_token) -> None:
    """The outbox's own guard: a token revoked by any means (the back office) stops its webhooks."""
    raw = make_token("webhooks")
    token = ApiToken.objects.get(prefix=raw[:12])
    ChannelEndpoint.objects.create(
        kind=Channel.WEBHOOK,
        name="x",
        url="http://10.0.0.1/h",
        token=token,
        events=["case.created"],
        community=world.community,
    )
    assert webhook_event(event="case.created", key="a", data={}, community_id=world.community.pk) == 1
    ApiToken.objects.filter(pk=token.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert webhook_event(event="case.created", key="b", data={}, community_id=world.community.pk) == 0


def test_a_token_has_at_most_twenty_subscriptions(world, client, make_token) -> None:
    raw = make_token("webhooks")
    for n in range(20):
        assert subscribe(client, raw, url=f"http://10.0.1.{n}/h").status_code == 201
    response = subscribe(client, raw, url="http://10.0.2.1/h")
    assert response.status_code == 400 and "at most 20" in response.json()["detail"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:5432/", "http://localhost/x", "http://169.254.169.254/latest"]
)
def test_a_webhook_cannot_point_at_the_server_itself_or_link_local(
    world, client, make_token, settings, url
) -> None:
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    response = subscribe(client, make_token("webhooks"), url=url)
    assert response.status_code == 400
    assert not ChannelEndpoint.objects.filter(kind=Channel.WEBHOOK).exists()
