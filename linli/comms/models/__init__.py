"""Communications: notifications and the outbox that delivers them on every channel, broadcasts with
acknowledgements, residents' questions and the FAQ, incident reports on the site plan, staff badges."""

from linli.comms.models.badges import Badge
from linli.comms.models.broadcasts import Broadcast, BroadcastRecipient, NoticeTemplate
from linli.comms.models.incidents import BuildingPlacement, Incident, IncidentMedia, SitePlan
from linli.comms.models.notifications import ChannelPreference, Notification
from linli.comms.models.outbox import Channel, ChannelEndpoint, OutboxMessage
from linli.comms.models.questions import FaqEntry, Question

__all__ = [
    "Badge",
    "Broadcast",
    "BroadcastRecipient",
    "BuildingPlacement",
    "Channel",
    "ChannelEndpoint",
    "ChannelPreference",
    "FaqEntry",
    "Incident",
    "IncidentMedia",
    "NoticeTemplate",
    "Notification",
    "OutboxMessage",
    "Question",
    "SitePlan",
]
