"""The roles a staff account can hold, and what each may do. Scope (street/community/grid) is separate."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    STREET_ADMIN = "street_admin", _("Street administrator")
    COMMUNITY_ADMIN = "community_admin", _("Community commander / administrator")
    GRID_LEADER = "grid_leader", _("Grid leader")
    GRID_WORKER = "grid_worker", _("Grid worker")
    TEAM_MEMBER = "team_member", _("Team member")
    OBSERVER = "observer", _("Observer")
    # A department's system (CDC, police, the big-data centre) calling the API with a token: it sends
    # dispatched lists and reads their results for its street or community; it works on nothing else.
    DEPARTMENT = "department", _("Department (API)")
    # People outside the staff: they sign in only to their own pages (see core.middleware.OutsideRolesMiddleware).
    VOLUNTEER = "volunteer", _("Volunteer")
    ENTERPRISE = "enterprise", _("Enterprise contact")


class ScopeLevel(models.TextChoices):
    STREET = "street", _("Street")
    COMMUNITY = "community", _("Community")
    GRID = "grid", _("Grid")


# Which level of the organisation a role's account is attached to.
ROLE_SCOPE = {
    Role.STREET_ADMIN: ScopeLevel.STREET,
    Role.COMMUNITY_ADMIN: ScopeLevel.COMMUNITY,
    Role.GRID_LEADER: ScopeLevel.GRID,
    Role.GRID_WORKER: ScopeLevel.GRID,
    Role.TEAM_MEMBER: ScopeLevel.COMMUNITY,
    Role.OBSERVER: None,  # an observer may watch a street or a community
    Role.DEPARTMENT: None,
}

# Accounts of people who are not staff. They have no street, community or grid, so every scoped
# selector gives them nothing; their pages check the volunteer or enterprise record they belong to.
OUTSIDE_ROLES = frozenset({Role.VOLUNTEER, Role.ENTERPRISE})

# Staff who work with residents directly may see full ID numbers and phones, one reveal at a time.
REVEAL_ROLES = frozenset({Role.STREET_ADMIN, Role.COMMUNITY_ADMIN, Role.GRID_LEADER, Role.GRID_WORKER})
EDIT_RESIDENT_ROLES = REVEAL_ROLES
IMPORT_ROLES = frozenset({Role.STREET_ADMIN, Role.COMMUNITY_ADMIN})
ADMIN_ROLES = frozenset({Role.STREET_ADMIN, Role.COMMUNITY_ADMIN})
# Who may reassign tasks and watch their area's overdue list.
SUPERVISOR_ROLES = ADMIN_ROLES | {Role.GRID_LEADER}
# Roles that may look but never act on tasks, responses or cases.
READ_ONLY_ROLES = frozenset({Role.OBSERVER, Role.DEPARTMENT})
# Who may send a dispatched list (epidemic): the community's and street's administrators and departments.
DISPATCH_ROLES = ADMIN_ROLES | {Role.DEPARTMENT}
