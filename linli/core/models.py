from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.roles import (
    ADMIN_ROLES,
    EDIT_RESIDENT_ROLES,
    IMPORT_ROLES,
    OUTSIDE_ROLES,
    READ_ONLY_ROLES,
    REVEAL_ROLES,
    ROLE_SCOPE,
    Role,
    ScopeLevel,
)

if TYPE_CHECKING:
    from linli.registry.models import Community, Grid, Street


class User(AbstractUser):
    """A staff account. Its role says what it may do; street/community/grid say where."""

    display_name = models.CharField(_("name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.OBSERVER)
    # The most specific of these is the account's scope; the others are kept in step by clean()/save()
    # so that scoping is a single indexed comparison.
    street = models.ForeignKey(
        "registry.Street",
        verbose_name=_("street"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    community = models.ForeignKey(
        "registry.Community",
        verbose_name=_("community"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    grid = models.ForeignKey(
        "registry.Grid",
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    is_service_account = models.BooleanField(default=False, help_text=_("Used only through API tokens."))

    class Meta:
        verbose_name = _("staff account")
        verbose_name_plural = _("staff accounts")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def scope_level(self) -> str | None:
        if self.grid_id:
            return ScopeLevel.GRID
        if self.community_id:
            return ScopeLevel.COMMUNITY
        if self.street_id:
            return ScopeLevel.STREET
        return None

    @property
    def scope_object(self) -> Street | Community | Grid | None:
        return self.grid or self.community or self.street

    @property
    def can_reveal(self) -> bool:
        return self.is_superuser or self.role in REVEAL_ROLES

    @property
    def can_edit_residents(self) -> bool:
        return self.is_superuser or self.role in EDIT_RESIDENT_ROLES

    @property
    def can_import(self) -> bool:
        return self.is_superuser or self.role in IMPORT_ROLES

    @property
    def is_outside(self) -> bool:
        """A volunteer's or enterprise contact's account, not staff."""
        return not self.is_superuser and self.role in OUTSIDE_ROLES

    @property
    def is_read_only(self) -> bool:
        """Observers and departments look (in their scope) but act on nothing."""
        return not self.is_superuser and self.role in READ_ONLY_ROLES

    @property
    def is_admin_role(self) -> bool:
        return self.is_superuser or self.role in ADMIN_ROLES

    def sync_scope(self) -> None:
        """Fill the broader levels from the most specific one."""
        if self.grid is not None:
            self.community_id = self.grid.community_id
        if self.community is not None:
            self.street_id = self.community.street_id

    def clean(self) -> None:
        super().clean()
        self.sync_scope()
        expected = ROLE_SCOPE.get(Role(self.role)) if self.role else None
        if self.is_superuser:
            return
        if self.role in OUTSIDE_ROLES:
            if self.street_id or self.community_id or self.grid_id:
                raise ValidationError(
                    {"street": _("Volunteer and enterprise accounts see no area of the registry.")}
                )
            return
        if expected == ScopeLevel.GRID and not self.grid_id:
            raise ValidationError({"grid": _("This role works in a grid: choose the grid.")})
        if expected == ScopeLevel.COMMUNITY and (not self.community_id or self.grid_id):
            raise ValidationError(
                {"community": _("This role works for a whole community: choose the community only.")}
            )
        if expected == ScopeLevel.STREET and (not self.street_id or self.community_id):
            raise ValidationError({"street": _("This role works for a street: choose the street only.")})
        if expected is None and not (self.street_id or self.community_id):
            raise ValidationError({"street": _("Choose the street or community this account may see.")})

    def save(self, *args: object, **kwargs: object) -> None:
        self.sync_scope()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class AuditLog(models.Model):
    """Every write, reveal, export and sign-in: who, when, from where, what."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        DELETE = "delete", _("deleted")
        REVEAL = "reveal", _("revealed")
        EXPORT = "export", _("exported")
        IMPORT = "import", _("imported")
        LOGIN = "login", _("signed in")
        LOGIN_FAILED = "login_failed", _("failed sign-in")
        LOGOUT = "logout", _("signed out")
        TOKEN = "token", _("API token")
        STOCK = "stock", _("stock movement")
        SELF_REPORT = "self_report", _("health self-report")
        API = "api", _("API call")

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("who"), null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("from"), null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    via = models.CharField(max_length=10, blank=True, help_text="web, api, job or cli")
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    target_type = models.CharField(max_length=50, blank=True)
    target_id = models.CharField(max_length=50, blank=True)
    target_label = models.CharField(_("what"), max_length=200, blank=True)
    # Where the target lives, so that an administrator sees only their own area's log.
    street = models.ForeignKey(
        "registry.Street", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    community = models.ForeignKey(
        "registry.Community", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-at"]),
            models.Index(fields=["community", "-at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_label}"


class LoginFailure(models.Model):
    """Failed sign-ins, counted per username and per address to throttle guessing."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.username} {self.ip}"


class ImportJob(models.Model):
    """One spreadsheet upload: preview first, then an atomic commit; errors downloadable by row."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be read")
        PREVIEWED = "previewed", _("checked, waiting for confirmation")
        COMMITTING = "committing", _("importing")
        COMMITTED = "committed", _("imported")
        FAILED = "failed", _("could not be read")
        CANCELLED = "cancelled", _("cancelled")

    kind = models.CharField(max_length=40)
    community = models.ForeignKey("registry.Community", null=True, blank=True, on_delete=models.CASCADE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    filename = models.CharField(_("file"), max_length=200)
    # The file itself lives in the database so that any worker on any machine can read it.
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64, db_index=True)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    message = models.CharField(max_length=500, blank=True)
    header_row = models.PositiveIntegerField(null=True, blank=True)
    columns = models.JSONField(default=dict, blank=True)
    rows = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    preview = models.JSONField(default=list, blank=True)
    origin_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_busy(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.COMMITTING)


class RateCount(models.Model):
    """Hits per key in the current fixed window (core.ratelimit): kept in the database so that every app
    server and worker counts the same hits."""

    key = models.CharField(max_length=200, primary_key=True)
    bucket = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key} {self.hits}"
