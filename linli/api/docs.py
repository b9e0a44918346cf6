"""The API's documentation: the description at the top of /api/v1/docs, the webhooks section of the OpenAPI
document (built from the payload models, so it cannot drift from what is sent), and Swagger UI served from
this server's own copy of its files: Linli runs on closed networks where no CDN is reachable."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ninja
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import http_date, parse_http_date_safe
from ninja.openapi.docs import DocsBase

from linli.comms.outbox import WEBHOOK_EVENTS
from linli.comms.signing import HEADER, TOLERANCE_SECONDS

if TYPE_CHECKING:
    from ninja import NinjaAPI

DESCRIPTION = f"""
Community emergency preparedness and response: the interface for the CDC, the police duty system, the
street office and other departments' systems. Every call is written to the audit log (who, when, from
which address, method, path and status).

## Authentication

Every call carries an API token: `Authorization: Bearer lnl_…`. A community's or street's administrator
issues tokens on the **API tokens** page of Linli (or an operator runs
`manage.py create_api_token --role department --scope CODE --department cdc --allow dispatch,webhooks`).
The token is shown once; keep it in the calling system's secret store. A revoked token gets **401** on its
very next call, and its webhook subscriptions stop at once.

## Scope and permissions

A token acts as its own service account, with a role and a scope (a street or a community):
it sees and changes only what is in that scope. An object outside it is a **404**, never a hint that it
exists. Personal data comes back masked (李*英, 138****1234).

On top of the role, a token may do only what it was given:

| permission | allows |
|---|---|
| `dispatch` | send dispatched lists (协查名单) and read each record's verification: `/epidemic/dispatch-lists` |
| `reports` | read the daily prevention report (防控日报): `/reports/daily` |
| `read` | read the registers, people masked: `/registry/…` |
| `webhooks` | subscribe to events: `/webhooks` |
| `broadcasts` | send notices to residents and staff: `/comms/broadcasts` |

A call the token was not given is a **403** with `{{"detail": "…"}}` saying which permission is missing.

## Webhooks

Subscribe with `POST /api/v1/webhooks` `{{"url": "http://10.20.1.15:8080/linli", "events": ["case.created"],
"secret": "at least 16 random characters"}}`. An intranet `http://` address is fine. The subscription
covers the token's street or community. Events: {", ".join(f"`{e}`" for e in WEBHOOK_EVENTS)}.

Linli POSTs each event as JSON (UTF-8):

```
{{"event": "case.created", "id": "case:42:case.created", "created_at": "2026-03-02T08:15:00+08:00",
 "data": {{…the event's fields, see "Webhooks" below…}}}}
```

with these headers:

- `X-Linli-Event`: the event name;
- `X-Linli-Delivery`: the delivery's key, the same when a delivery is retried. **Drop a delivery whose
  key you have already processed**: after a network failure Linli cannot know whether you received it,
  so it sends it again;
- `{HEADER}: t=<unix seconds>,v1=<hex>`, where `v1` is the HMAC-SHA256 of the string `"<t>.<raw body>"`
  keyed with your secret. Compute it over the raw bytes received (before parsing the JSON), compare in
  constant time, and refuse a `t` more than {TOLERANCE_SECONDS} seconds from your clock (a replay).

```python
import hashlib, hmac, time

def verify(secret: str, body: bytes, header: str) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    t = int(parts["t"])
    mac = hmac.new(secret.encode(), f"{{t}}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - t) <= {TOLERANCE_SECONDS} and hmac.compare_digest(mac, parts["v1"])
```

Answer with any **2xx** within 10 seconds; do the work afterwards. A 5xx, 408, 429 or no answer is retried
with growing intervals (30 s, 1 min, 2 min … about 15 min in all) before the delivery is given up and listed
for Linli's staff; another 4xx is not retried. `GET /api/v1/webhooks` shows each subscription's latest
success, failure and error.

Payloads carry what a duty desk needs to act and to find the thing in Linli: ids, codes, types, building
numbers, times, status and `url`, the staff page (sign-in required). Names are masked; there are never
phone or ID numbers. A `response.activated` with `"drill": true` is an exercise.
"""

TAGS = [
    {"name": "webhooks", "description": "Subscriptions to events, signed with HMAC-SHA256."},
    {
        "name": "epidemic",
        "description": "Dispatched lists (协查) and their verification. Permission `dispatch`.",
    },
    {"name": "reports", "description": "The daily prevention report (防控日报). Permission `reports`."},
    {"name": "registry", "description": "Communities and residents, masked. Permission `read`."},
]


SUMMARIES = {
    "case.created": "A resident was put under control (isolation or health monitoring)",
    "response.activated": "A community activated an emergency plan (`drill`: an exercise)",
    "incident.reported": "An incident was reported: what, where and when; never who reported it or their words",
}


def webhooks_section() -> dict[str, Any]:
    """OpenAPI 3.1 `webhooks`: one POST per event, its body the envelope around the event's data."""
    from linli.comms.webhooks import EVENT_DATA

    section: dict[str, Any] = {}
    for event, model in EVENT_DATA.items():
        data = model.model_json_schema()
        body = {
            "type": "object",
            "required": ["event", "id", "created_at", "data"],
            "properties": {
                "event": {"type": "string", "const": event},
                "id": {"type": "string", "description": "the event's id, e.g. case:42:case.created"},
                "created_at": {"type": "string", "format": "date-time"},
                "data": data,
            },
        }
        headers = [
            {
                "name": "X-Linli-Event",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "const": event},
            },
            {
                "name": "X-Linli-Delivery",
                "in": "header",
                "required": True,
                "description": "the same on a retry: drop a key already processed",
                "schema": {"type": "string"},
            },
            {
                "name": HEADER,
                "in": "header",
                "required": True,
                "description": 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with your secret>',
                "schema": {"type": "string"},
            },
        ]
        section[event] = {
            "post": {
                "summary": SUMMARIES.get(event, event),
                "parameters": headers,
                "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                "responses": {"2XX": {"description": "received; anything else is retried or given up"}},
            }
        }
    return section


# --- Swagger UI from this server ---------------------------------------------------------------------

ASSETS_DIR = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = frozenset(
    {"swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-init.js", "favicon.png", "favicon.svg"}
)


class LocalSwagger(DocsBase):
    """ninja's Swagger page, with its scripts and styles served by this server (never a CDN), and no call to
    swagger.io's online validator."""

    settings: dict[str, Any] = {
        "layout": "BaseLayout",
        "deepLinking": True,
        "docExpansion": "none",
        "validatorUrl": None,
        "tryItOutEnabled": False,
        "displayRequestDuration": True,
    }

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        return render(
            request,
            "api/docs.html",
            {"api": api, "swagger_settings": json.dumps(settings), "asset": _asset_urls()},
        )


def _asset_urls() -> dict[str, str]:
    return {
        name.replace("-", "_").replace(".", "_"): reverse("apiadmin:docs_asset", args=[name])
        for name in ASSETS
    }


def docs_asset(request: HttpRequest, name: str) -> HttpResponseBase:
    """Swagger UI's files from the installed django-ninja (its version is pinned, so they change only with an
    upgrade: a day's caching is safe)."""
    if name not in ASSETS:
        raise Http404
    path = ASSETS_DIR / name
    if not path.is_file():
        raise Http404
    mtime = int(path.stat().st_mtime)
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    if since is not None and since >= mtime:
        return HttpResponseNotModified()
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Last-Modified"] = http_date(mtime)
    response["Cache-Control"] = "public, max-age=86400"
    return response
