"""Incident reports (seed 003: systems that "cannot locate an incident or receive scene photos"): residents,
volunteers and staff report what happened and where (a building or place, or the phone's GPS) with photos
or video; staff triage each into tasks or a plan activation. Incidents are shown on the community's own site
plan (an uploaded image with the buildings placed on it), never on online map tiles."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Incident(models.Model):
    class Kind(models.TextChoices):
        FIRE = "fire", _("fire or smoke")
        WATER = "water", _("flooding or water leak")
        POWER = "power", _("power cut")
        GAS = "gas", _("gas smell")
        INJURY = "injury", _("someone hurt or ill")
        LIFT = "lift", _("someone trapped in a lift")
        SECURITY = "security", _("theft, fight or intruder")
        STRUCTURE = "structure", _("damage to a building")
        OTHER = "other", _("something else")

    class Status(models.TextChoices):
        NEW = "new", _("new")
        TRIAGED = "triaged", _("being handled")
        CLOSED = "closed", _("closed")
        REJECTED = "rejected", _("not an incident")

    community = models.ForeignKey("registry.Community", on_delete=models.CASCADE, related_name="incidents")
    kind = models.CharField(_("what happened"), max_length=10, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    building = models.ForeignKey(
        "registry.Building", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    place = models.CharField(_("place"), max_length=100, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    accuracy_m = models.PositiveIntegerField(null=True, blank=True)
    # Where on the site plan (0..1 from the left and from the top): from the building or the GPS fix.
    plan_x = models.FloatField(null=True, blank=True)
    plan_y = models.FloatField(null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reporter_name = models.CharField(_("reported by"), max_length=50, blank=True)
    reporter_phone = models.CharField(_("phone"), max_length=20, blank=True)
    via = models.CharField(max_length=10, blank=True)  # resident, volunteer, staff, api
    token = models.CharField(max_length=24, unique=True)  # the reporter's link to follow it
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    urgent = models.BooleanField(_("urgent"), default=False)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    triage_note = models.TextField(_("note"), blank=True)
    response = models.ForeignKey(
        "response.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [models.Index(fields=["community", "status", "-created_at"])]

    OPEN_STATUSES = (Status.NEW, Status.TRIAGED)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.place or ''}".strip()

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def on_plan(self) -> bool:
        return self.plan_x is not None and self.plan_y is not None

    @property
    def where(self) -> str:
        """Where it is, as people say it: "Building 3 · unit 2 stairwell", "underground garage", or the GPS
        fix when that is all there is."""
        parts = [str(self.building)] if self.building_id else []
        if self.place:
            parts.append(self.place)
        if not parts and self.latitude is not None and self.longitude is not None:
            parts.append(str(_("location from the phone")))
        return " · ".join(parts) or str(_("place not given"))


class IncidentMedia(models.Model):
    class Kind(models.TextChoices):
        PHOTO = "photo", _("photo")
        VIDEO = "video", _("video")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="media")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.FileField(upload_to="incidents/%Y/%m/")
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("incident photo or video")
        verbose_name_plural = _("incident photos and videos")

    def __str__(self) -> str:
        return self.file.name


class SitePlan(models.Model):
    """The community's own site plan (an image: a drawing, a scan, a screenshot of the property plan).
    With the GPS of its north-west and south-east corners set, a phone's fix is placed on it too."""

    community = models.OneToOneField("registry.Community", on_delete=models.CASCADE, related_name="site_plan")
    image = models.ImageField(_("site plan"), upload_to="siteplans/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    north = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    west = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    south = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    east = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("site plan")
        verbose_name_plural = _("site plans")

    def __str__(self) -> str:
        return str(self.community)


class BuildingPlacement(models.Model):
    """Where a building is on its community's site plan (0..1 from the left and from the top)."""

    building = models.OneToOneField("registry.Building", on_delete=models.CASCADE, related_name="placement")
    x = models.FloatField()
    y = models.FloatField()

    class Meta:
        verbose_name = pgettext_lazy("site plan", "building placement")
        verbose_name_plural = pgettext_lazy("site plan", "building placements")

    def __str__(self) -> str:
        return f"{self.building}: {self.x:.3f}, {self.y:.3f}"
