"""Incident reports (seed 003: systems that "cannot locate an incident or receive scene photos").

- reporting: `incident_report` — a resident (building QR), a volunteer or staff report what happened, where,
  with photos and video; the commanders, the building's grid worker and leader, the staff groups' robots and
  the departments' `incident.reported` webhook hear of it at once.
- triage: staff turn it into tasks or a plan activation, or mark it "not an incident", or close it; the
  reporter reads their notes on the report's own page.
- siteplan: the community's own site plan image with its buildings placed on it (no online map tiles).
- selectors: reading, scoped to the actor's community.
- uploads: photos, videos and plan images checked by content and size.
"""

from linli.comms.incidents.reporting import Via, incident_report, webhook_data
from linli.comms.incidents.selectors import (
    incident_by_token,
    incident_get,
    incident_list,
    incidents_for,
    media_get,
    siteplan_of,
)
from linli.comms.incidents.siteplan import (
    building_place,
    building_unplace,
    gps_to_plan,
    plan_position,
    siteplan_set_corners,
    siteplan_upload,
)
from linli.comms.incidents.triage import (
    WORKER,
    can_act_on,
    incident_activate_plan,
    incident_close,
    incident_locate,
    incident_reject,
    incident_reply,
    incident_reveal_phone,
    incident_tasks_create,
)
from linli.comms.incidents.uploads import check_media, check_plan_image

__all__ = [
    "WORKER",
    "Via",
    "building_place",
    "building_unplace",
    "can_act_on",
    "check_media",
    "check_plan_image",
    "gps_to_plan",
    "incident_activate_plan",
    "incident_by_token",
    "incident_close",
    "incident_get",
    "incident_list",
    "incident_locate",
    "incident_reject",
    "incident_reply",
    "incident_report",
    "incident_reveal_phone",
    "incident_tasks_create",
    "incidents_for",
    "media_get",
    "plan_position",
    "siteplan_of",
    "siteplan_set_corners",
    "siteplan_upload",
    "webhook_data",
]
