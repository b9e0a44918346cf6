"""Health monitoring API: pharmacies report fever-medicine purchases."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["health"])
