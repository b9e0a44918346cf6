"""The comms API: /api/v1/comms/… (broadcasts, the SMS gateway's callbacks) and /api/v1/webhooks."""

from __future__ import annotations

from ninja import Router

from linli.comms.api import broadcasts, outbox, webhooks

router = Router(tags=["comms"])
router.add_router("", broadcasts.router)
router.add_router("", outbox.router)
webhooks_router = webhooks.router
