"""Demo communications for 南里 (nanli): notices with confirmations, residents' questions and the FAQ,
incidents on the site plan, staff badges, and the departments connected through the API. Idempotent."""

from __future__ import annotations

from linli.registry.models import Community


def seed_demo_comms(community_code: str = "nanli") -> bool:
    """False when the community is missing."""
    community = Community.objects.filter(code=community_code).first()
    if community is None:
        return False
    from linli.api.demo import seed_demo_api
    from linli.comms.demo_badges import seed_badges
    from linli.comms.demo_broadcasts import seed_broadcasts
    from linli.comms.demo_incidents import seed_incidents
    from linli.comms.demo_questions import seed_questions

    seed_badges(community)
    seed_questions(community)
    seed_incidents(community)
    seed_broadcasts(community)
    seed_demo_api(community_code)
    return True
