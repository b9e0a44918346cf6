"""Residents' daily health self-reports (seed 001: 健康申报), without an app.

Each building has a QR poster. Its link opens a phone page where a resident proves who they are once
(room, name and the last four characters of their ID number, checked against the ledger) and then
reports for everyone in the household: temperature, symptoms, at home or away, an antigen result with
an optional photo. The page never says whether a person exists; wrong answers are counted and stopped.
After that a signed cookie remembers the household on that phone, so tomorrow's report is one screen.

The day's current report per person is what counts; a second report the same day replaces it and the
first stays as history. An abnormal report becomes a follow-up task for the building's grid worker:
fever or a positive antigen test is a home check within 2 hours (seed 001), other symptoms a call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.comms.services import Message, notify_many
from linli.core import ratelimit
from linli.core.access import scope_q
from linli.core.audit import audit_record
from linli.core.bulk import insert_rows
from linli.core.models import AuditLog, User
from linli.core.spreadsheet import fold_text
from linli.core.uploads import photo_extension
from linli.health.models import (
    ANTIGEN_CODES,
    FEVER_AT,
    PHOTO_MAX_BYTES,
    SYMPTOM_CODES,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    Antigen,
    SelfReport,
    SelfReportInbox,
    report_is_abnormal,
)
from linli.registry.models import Building, Community, Household, Residency, Resident, household_label
from linli.tasks.models import Task
from linli.tasks.services import TaskSpec, tasks_create

LIVING_HERE = (Residency.BOTH, Residency.LIVING)

# Wrong identities: this many per address (and per building) in VERIFY_WINDOW, then a pause.
VERIFY_LIMIT = 5
VERIFY_WINDOW = 15 * 60
# Any posts from one address: more than this a minute is a flood (a household posts a few times a day).
POST_LIMIT_PER_MINUTE = int(getattr(settings, "SELF_REPORT_POSTS_PER_MINUTE", 60))
_POSTS = ratelimit.LocalWindow(POST_LIMIT_PER_MINUTE, 60)
# PostgreSQL only: answer the resident before the INSERT reaches the disk (asynchronous commit). A crash of the
# database server may then lose the last fraction of a second of reports (it never corrupts anything); those
# residents show as not reported and are followed up like anyone else. Without it each report waits for a
# disk flush, and at the morning rush the slowest flushes are what residents wait for.
ASYNC_COMMIT = bool(getattr(settings, "SELF_REPORT_ASYNC_COMMIT", True))
# Reports received are written by a worker in batches; a process asks for a pass at most this often.
BATCH_SECONDS = float(getattr(settings, "SELF_REPORT_BATCH_SECONDS", 1.0))

COOKIE = "linli_report"
COOKIE_DAYS = 60
_COOKIE_SALT = "linli.health.household"

HOME_CHECK_HOURS = 2  # seed 001: fever → checked at the door within 2 h
CALL_HOURS = 4


class Refused(Exception):
    """Too many attempts from this address: the view answers 429."""


# --- the building's link ----------------------------------------------------------------------------


def _mac(building_id: int) -> str:
    key = hashlib.sha256(f"linli.health.building:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, str(building_id).encode(), hashlib.sha256).hexdigest()[:10]


def building_token(building_id: int) -> str:
    return f"{building_id}-{_mac(building_id)}"


def building_id_from_token(token: str) -> int | None:
    """The building a link is for, if its signature is right (no database needed)."""
    match = re.fullmatch(r"(\d+)-([0-9a-f]{10})", token)
    if match is None or not hmac.compare_digest(match[2], _mac(int(match[1]))):
        return None
    return int(match[1])


def building_from_token(token: str) -> Building | None:
    building_id = building_id_from_token(token)
    return None if building_id is None else building_load(building_id)


def building_from_token_or_404(token: str) -> Building:
    """The building of a QR link (its pages: self-report, questions, incidents); 404 for a bad link."""
    building = building_from_token(token)
    if building is None:
        raise Http404
    return building


def building_load(building_id: int) -> Building | None:
    """The building of a link already checked, with its community (the page shows the community's name
    and office phone)."""
    return Building.objects.select_related("community").filter(pk=building_id).order_by().first()


# --- who is reporting ---------------------------------------------------------------------------------


_CHINESE_DIGITS = str.maketrans("〇一二三四五六七八九", "0123456789")


def _room_parts(text: str) -> list[str]:
    """A room as people type it, as its numbers: "1号楼2单元101室", "1-2-101", "2单元101", "二单元101",
    "2 101", "３０１" → ["1", "2", "101"], ["2", "101"], ["301"] …"""
    text = unicodedata.normalize("NFKC", text).upper().translate(_CHINESE_DIGITS)
    return re.findall(r"[0-9A-Z]+", text)


def _room_matches(typed: str, entrance: str, room: str) -> bool:
    """The last number typed is the room; the one before it, if any, the unit (entrance); a building
    number before that is ignored (the link is the building's)."""
    parts = _room_parts(typed)
    room_parts = _room_parts(room)
    if not parts or not room_parts or parts[-1] != room_parts[-1]:
        return False
    if len(parts) == 1:
        return True
    unit = _room_parts(entrance)
    return not unit or parts[-2] == unit[-1]


def household_verify(*, building: Building, room: str, name: str, id_tail: str, ip: str | None) -> int | None:
    """The household of the person who typed these, or None. Raises Refused after too many misses from one
    address, or too many near misses on one person of the building (the right name and room with wrong
    ID digits: someone guessing), before even looking. Neighbours mistyping their own names do not lock
    the building."""
    ip_key, building_key = f"verify:ip:{ip}", f"verify:building:{building.pk}"
    if (
        ratelimit.hits(ip_key, window_seconds=VERIFY_WINDOW) >= VERIFY_LIMIT
        or ratelimit.hits(building_key, window_seconds=VERIFY_WINDOW) >= VERIFY_LIMIT * 2
    ):
        raise Refused
    tail = unicodedata.normalize("NFKC", id_tail).strip().upper()
    wanted = fold_text(name)
    people = Resident.objects.filter(
        household__building=building, name__in={name.strip(), wanted}
    ).values_list("name", "id_number", "household_id", "household__entrance__number", "household__room")
    near = False
    for cand_name, id_number, household_id, entrance, cand_room in people:
        if fold_text(cand_name) != wanted or not _room_matches(room, entrance, cand_room):
            continue
        if len(tail) == 4 and id_number.upper().endswith(tail):
            return int(household_id)
        near = True
    ratelimit.hits(ip_key, window_seconds=VERIFY_WINDOW, add=1)
    if near:
        ratelimit.hits(building_key, window_seconds=VERIFY_WINDOW, add=1)
    return None


def post_allowed(ip: str | None) -> bool:
    """One address's posts to the self-report pages, counted a minute at a time in this process: a flood
    is stopped without a database write per request (see ratelimit.LocalWindow)."""
    return _POSTS.hit(str(ip))


def household_cookie(household_id: int, building_id: int) -> str:
    return signing.dumps([household_id, building_id], salt=_COOKIE_SALT, compress=False)


def household_from_cookie(value: str | None, building_id: int) -> int | None:
    if not value:
        return None
    try:
        household_id, cookie_building = signing.loads(value, salt=_COOKIE_SALT, max_age=COOKIE_DAYS * 86400)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return int(household_id) if cookie_building == building_id else None


def household_members(household_id: int) -> list[Resident]:
    """Who a household reports for: the people living there, householder first."""
    members = (
        Resident.objects.filter(household_id=household_id, residency__in=LIVING_HERE)
        .select_related("household__entrance", "household__building", "household__community")
        .order_by()
    )
    return sorted(members, key=lambda r: (r.relation != "self", r.birth_date, r.pk))


# --- reporting ------------------------------------------------------------------------------------------


@dataclass
class Entry:
    resident_id: int
    temperature: Decimal
    symptoms: list[str] = field(default_factory=list)
    at_home: bool = True
    away_note: str = ""
    antigen: str = Antigen.NONE
    photo: UploadedFile | None = None


def parse_temperature(raw: str) -> Decimal:
    """ "36.5", "３６．５", "36,5" or "36.5℃" → Decimal; outside 34–43 °C is refused."""
    text = unicodedata.normalize("NFKC", raw).strip().replace(",", ".").replace("℃", "").replace("°C", "")
    text = text.rstrip("°Cc ").strip()
    try:
        value = Decimal(text).quantize(Decimal("0.1"))
    except ArithmeticError:
        raise ValidationError(_("Enter the temperature as a number, like 36.5.")) from None
    if not value.is_finite() or not TEMPERATURE_MIN <= value <= TEMPERATURE_MAX:
        raise ValidationError(
            _("A body temperature is between %(low)s and %(high)s °C; please measure again.")
            % {"low": TEMPERATURE_MIN, "high": TEMPERATURE_MAX}
        )
    return value


def check_photo(upload: UploadedFile) -> str:
    """The photo's file extension if it is an image of at most 10 MB; otherwise ValidationError."""
    if upload.size is not None and upload.size > PHOTO_MAX_BYTES:
        raise ValidationError(_("The photo is larger than 10 MB; take it again or send a smaller one."))
    ext = photo_extension(upload, PHOTO_MAX_BYTES)
    if ext is None:
        raise ValidationError(_("That file is not a photo. Choose a picture of the test."))
    return ext


@dataclass
class Submitted:
    reports: list[SelfReport]
    tasks: list[Task]

    @property
    def abnormal(self) -> list[SelfReport]:
        return [r for r in self.reports if r.abnormal]


def _report(
    person: Resident, entry: Entry, *, now: dt.datetime, ip: str | None, actor: User | None
) -> _Draft:
    return _draft(
        _Person(
            person.pk, person.household_id, person.community_id, person.grid_id, person.household.building_id
        ),
        entry,
        now=now,
        day=timezone.localdate(now),
        ip=ip,
        actor=actor,
    )


@dataclass(frozen=True, slots=True)
class _Person:
    """What a report needs of the person it is about (the worker reads these as plain values)."""

    pk: int
    household_id: int
    community_id: int
    grid_id: int | None
    building_id: int


@dataclass(slots=True)
class _Draft:
    """A report to insert, as plain values: the worker makes hundreds a batch, and a model instance costs
    several times what the rest of a report does. `report()` makes the model for those that need one."""

    community_id: int
    grid_id: int | None
    building_id: int
    resident_id: int
    day: dt.date
    submitted_at: dt.datetime
    temperature: Decimal
    symptoms: str
    at_home: bool
    away_note: str
    antigen: str
    photo: str
    abnormal: bool
    recorded_by_id: int | None
    ip: str | None
    current: bool = False

    def row(self) -> tuple[object, ...]:
        """The values in _REPORT_COLUMNS' order (the temperature as text, the database's own form)."""
        return (
            self.community_id, self.grid_id, self.building_id, self.resident_id, self.day, self.submitted_at,
            str(self.temperature), self.symptoms, self.at_home, self.away_note, self.antigen, self.photo,
            self.abnormal, self.current, self.recorded_by_id, self.ip,
        )  # fmt: skip

    def report(self) -> SelfReport:
        return SelfReport(**{name: getattr(self, name) for name in _REPORT_COLUMNS})


def _draft(
    person: _Person, entry: Entry, *, now: dt.datetime, day: dt.date, ip: str | None, actor: User | None
) -> _Draft:
    symptoms = ",".join(dict.fromkeys(s for s in entry.symptoms if s in SYMPTOM_CODES))
    antigen = entry.antigen if entry.antigen in ANTIGEN_CODES else Antigen.NONE
    return _Draft(
        community_id=person.community_id,
        grid_id=person.grid_id,
        building_id=person.building_id,
        resident_id=person.pk,
        day=day,
        submitted_at=now,
        temperature=entry.temperature,
        symptoms=symptoms,
        at_home=entry.at_home,
        away_note="" if entry.at_home else entry.away_note[:100],
        antigen=antigen,
        photo="",
        abnormal=report_is_abnormal(entry.temperature, symptoms, antigen),
        recorded_by_id=actor.pk if actor is not None and actor.pk else None,
        ip=ip,
    )


def _save_photo(entry: Entry, resident_id: int, now: dt.datetime) -> str:
    """Store the entry's photo (checked again: the caller may not have) and return its name."""
    if entry.photo is None:
        return ""
    ext = check_photo(entry.photo)
    from django.core.files.storage import default_storage

    return default_storage.save(f"self-reports/{now:%Y/%m/%d}/{resident_id}-{now:%H%M%S}.{ext}", entry.photo)


def self_reports_submit(
    *,
    household_id: int,
    entries: Sequence[Entry],
    members: Sequence[Resident] | None = None,
    ip: str | None = None,
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> Submitted:
    """Record the household's reports at once (a staff member after a call, the demo). Only people living in
    the household may be reported for; see _write for the rest."""
    if not entries:
        raise ValidationError(_("Enter at least one person's temperature."))
    now = now or timezone.now()
    members_by_id = {r.pk: r for r in (members if members is not None else household_members(household_id))}
    if any(e.resident_id not in members_by_id for e in entries):
        raise ValidationError(_("That person is not in this household."))
    drafts = []
    for entry in entries:
        draft = _report(members_by_id[entry.resident_id], entry, now=now, ip=ip, actor=actor)
        draft.photo = _save_photo(entry, entry.resident_id, now)
        drafts.append(draft)
    household = members_by_id[entries[0].resident_id].household
    with transaction.atomic():
        tasks = _write(drafts, members_by_id, now)
        audit_record(
            actor=actor,
            action=AuditLog.Action.SELF_REPORT,
            target=household,
            detail=_audit_detail(drafts),
            community_id=household.community_id,
        )
    return Submitted(reports=[d.report() for d in drafts], tasks=tasks)


def _audit_detail(reports: Sequence[_Draft]) -> str:
    return _("%(n)s reported, %(abnormal)s abnormal") % {
        "n": len(reports),
        "abnormal": sum(r.abnormal for r in reports),
    }


_REPORT_COLUMNS = [
    "community_id", "grid_id", "building_id", "resident_id", "day", "submitted_at", "temperature", "symptoms",
    "at_home", "away_note", "antigen", "photo", "abnormal", "current", "recorded_by_id", "ip",
]  # fmt: skip


def _write(reports: list[_Draft], people: dict[int, Resident] | None, now: dt.datetime) -> list[Task]:
    """Insert reports (in the order they were made). For each person and day the latest report counts: it
    replaces the one counting so far, which stays as history, unless that one was made later (two phones,
    two workers). Abnormal reports get a follow-up task. Call inside a transaction."""
    latest: dict[tuple[int, dt.date], _Draft] = {}
    for report in reports:
        key = (report.resident_id, report.day)
        # The later report wins; of two made at the same moment, the one received last.
        if key not in latest or report.submitted_at >= latest[key].submitted_at:
            latest[key] = report
    days: dict[dt.date, list[int]] = {}
    for resident_id, day in latest:
        days.setdefault(day, []).append(resident_id)
    for day, ids in days.items():
        counting = SelfReport.objects.select_for_update().filter(resident_id__in=ids, day=day, current=True)
        newer, older = set(), []
        for pk, resident_id, submitted_at in counting.values_list("pk", "resident_id", "submitted_at"):
            if submitted_at > latest[(resident_id, day)].submitted_at:
                newer.add(resident_id)
            else:
                older.append(pk)
        if older:
            SelfReport.objects.filter(pk__in=older).update(current=False)
        for resident_id in newer:
            del latest[(resident_id, day)]
    counting_now = {id(r) for r in latest.values()}
    for report in reports:
        report.current = id(report) in counting_now
    insert_rows(SelfReport, _REPORT_COLUMNS, [r.row() for r in reports])
    # Every abnormal report is followed up, also one replaced a minute later: a fever "corrected" to 36.5 is
    # worth a knock on the door (once a person and day).
    return _follow_up(reports, people, now)


# --- the morning rush: accept at once, write in batches -----------------------------------------------------


def entry_json(entry: Entry, photo: str) -> dict[str, object]:
    return {
        "resident": entry.resident_id,
        "temperature": str(entry.temperature),
        "symptoms": entry.symptoms,
        "at_home": entry.at_home,
        "away": entry.away_note,
        "antigen": entry.antigen,
        "photo": photo,
    }


def self_report_accept(
    *,
    household_id: int,
    building_id: int,
    entries: Sequence[Entry],
    ip: str | None = None,
    user_agent: str = "",
    now: dt.datetime | None = None,
) -> None:
    """Take a household's report from the resident's phone: one INSERT, so the page answers at once even
    when the whole community reports at 8 o'clock. inbox_process writes it within seconds; who is in the
    household is checked there (the form's fields came from the household's own page)."""
    if not entries:
        raise ValidationError(_("Enter at least one person's temperature."))
    now = now or timezone.now()
    if any(e.photo is not None for e in entries):
        # Files are kept only for people of the household (a forged form could name anyone).
        members = set(
            Resident.objects.filter(
                household_id=household_id, pk__in=[e.resident_id for e in entries], residency__in=LIVING_HERE
            ).values_list("pk", flat=True)
        )
        entries = [e for e in entries if e.resident_id in members]
    received = [entry_json(e, _save_photo(e, e.resident_id, now)) for e in entries]
    sql = (
        f"INSERT INTO {SelfReportInbox._meta.db_table} "
        "(household_id, building_id, entries, received_at, ip, user_agent, failed_at, error) "
        "VALUES (%s, %s, %s, %s, %s, %s, NULL, '')"
    )
    params: list[Any] = [
        household_id,
        building_id,
        json.dumps(received, ensure_ascii=False),
        connection.ops.adapt_datetimefield_value(now),
        ip,
        user_agent[:300],
    ]
    # One plain INSERT: the ORM's save costs this request a third of its time.
    if ASYNC_COMMIT and connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Do not wait for the disk (see ASYNC_COMMIT), in one round trip to the database rather than four
        # (Django's psycopg cursor binds parameters on the client, so the statements go as one string).
        with connection.cursor() as cursor:
            try:
                cursor.execute(f"BEGIN; SET LOCAL synchronous_commit TO OFF; {sql}; COMMIT", params)
            except DatabaseError:
                connection.connection.rollback()  # the failed transaction, not left open on the connection
                raise
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    _kick()


_last_kick = -1e9


def _kick() -> None:
    """Ask a worker to write what came in: at most once a BATCH_SECONDS per process, since one pass takes
    everything waiting (and the job looks once more after BATCH_SECONDS for what came in meanwhile)."""
    global _last_kick
    now = time.monotonic()
    if now - _last_kick < BATCH_SECONDS:
        return
    _last_kick = now
    from linli.health.jobs import self_report_inbox_job

    # Not on_commit: the row is committed already (autocommit), and a caller's transaction would only delay
    # the pass; a pass that finds nothing costs one query.
    self_report_inbox_job.enqueue()


def inbox_pending(household_id: int) -> dict[int, bool]:
    """Who in the household has a report received and not yet written, and whether it needs a home check
    (a fever or a positive test: the page tells them at once to stay at home)."""
    pending: dict[int, bool] = {}
    for entries in (
        SelfReportInbox.objects.filter(household_id=household_id, failed_at=None)
        .order_by("pk")
        .values_list("entries", flat=True)
    ):
        for e in entries:
            try:
                fever = Decimal(str(e.get("temperature", "0"))) >= FEVER_AT
            except ArithmeticError:
                fever = False
            pending[int(e["resident"])] = fever or e.get("antigen") == Antigen.POSITIVE
    return pending


# Households written per transaction. Larger batches cost less per report (the queries of a batch are the same
# whatever its size); on SQLite a batch holds the only write lock, which residents' posts then wait for.
INBOX_BATCH_POSTGRESQL = 500
INBOX_BATCH_SQLITE = 200


def inbox_process(*, batch: int | None = None) -> int:
    """Write the reports received, oldest first, a batch per transaction, until a batch is not full. Rows are
    claimed with SKIP LOCKED on PostgreSQL, so several workers share the queue; each row is written and
    deleted in one transaction, so a worker killed half-way loses nothing and writes nothing twice.

    A pass ends once it has caught up: what comes in meanwhile waits for the next pass (self_report_inbox_job
    makes one BATCH_SECONDS later). Going on would write the morning rush a few households at a time, and a
    batch costs nearly as much whatever its size: the worker would take the web server's CPU for nothing."""
    batch = batch or (INBOX_BATCH_POSTGRESQL if connection.vendor == "postgresql" else INBOX_BATCH_SQLITE)
    done = 0
    retried = False
    while True:
        try:
            with transaction.atomic():
                rows = _claim(batch)
                if not rows:
                    return done
                _commit_without_waiting()
                _inbox_write(rows)
                SelfReportInbox.objects.filter(pk__in=[r.pk for r in rows]).delete()
        except IntegrityError:
            # Another worker wrote the same person's report meanwhile (a double tap on two phones): the
            # batch is rolled back whole; taking it again sees that report and orders by time.
            if not retried:
                retried = True
                continue
            rows = _inbox_rows_one_by_one(batch)
        except DatabaseError:
            # A row the database refuses must not hold up the rest: write the batch row by row and set
            # the refused ones aside (failed_at), for an administrator to look at.
            rows = _inbox_rows_one_by_one(batch)
        done += len(rows)
        if len(rows) < batch:
            return done


_INBOX_COLUMNS = ("pk", "household_id", "entries", "received_at", "ip", "user_agent")


@dataclass(frozen=True, slots=True)
class _Received:
    """An inbox row, read as plain values (a batch is hundreds of them)."""

    pk: int
    household_id: int
    entries: list[dict[str, object]]
    received_at: dt.datetime
    ip: str | None
    user_agent: str


def _commit_without_waiting() -> None:
    """The batch's transaction need not wait for the disk either: it writes the reports and deletes their
    inbox rows at once, so a crash that loses it brings the inbox rows back, to be written again."""
    if ASYNC_COMMIT and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _claim(batch: int) -> list[_Received]:
    return [
        _Received(*values)
        for values in SelfReportInbox.objects.select_for_update(skip_locked=True)
        .filter(failed_at=None)
        .order_by("pk")
        .values_list(*_INBOX_COLUMNS)[:batch]
    ]


def _inbox_rows_one_by_one(batch: int) -> list[_Received]:
    import logging

    with transaction.atomic():
        rows = _claim(batch)
        for row in rows:
            try:
                with transaction.atomic():
                    _inbox_write([row])
                    SelfReportInbox.objects.filter(pk=row.pk).delete()
            except DatabaseError as exc:
                logging.getLogger(__name__).exception("self-report %s refused", row.pk)
                SelfReportInbox.objects.filter(pk=row.pk).update(
                    failed_at=timezone.now(), error=str(exc)[:500]
                )
    return rows


_AUDIT_COLUMNS = [
    "at", "actor_id", "actor_label", "ip", "user_agent", "via", "action", "target_type", "target_id",
    "target_label", "street_id", "community_id", "detail", "changes",
]  # fmt: skip


def _inbox_write(rows: list[_Received]) -> None:
    """Write a batch of received reports with their audit rows. The people are read as plain values, not
    models: the worker's cost per report is what keeps up with a whole community reporting at once."""
    wanted = {int(str(e["resident"])) for row in rows for e in row.entries}
    people: dict[int, _Person] = {}
    labels: dict[int, str] = {}
    for pk, household_id, community_id, grid_id, building_id, building, entrance, room in (
        Resident.objects.filter(pk__in=wanted, residency__in=LIVING_HERE)
        .order_by()
        .values_list(
            "pk",
            "household_id",
            "community_id",
            "grid_id",
            "household__building_id",
            "household__building__number",
            "household__entrance__number",
            "household__room",
        )
    ):
        people[pk] = _Person(pk, household_id, community_id, grid_id, building_id)
        if household_id not in labels:
            labels[household_id] = household_label(building, entrance, room)[:200]
    streets = dict(
        Community.objects.filter(pk__in={p.community_id for p in people.values()}).values_list(
            "pk", "street_id"
        )
    )
    reports: list[_Draft] = []
    audits: list[tuple[object, ...]] = []
    now = timezone.now()
    for row in rows:
        day = timezone.localdate(row.received_at)
        accepted = []
        for raw in row.entries:
            person = people.get(int(str(raw["resident"])))
            if person is None or person.household_id != row.household_id:
                continue  # not (or no longer) living in this household
            try:
                entry = Entry(
                    resident_id=person.pk,
                    temperature=parse_temperature(str(raw["temperature"])),
                    symptoms=[str(s) for s in raw.get("symptoms", [])],  # type: ignore[attr-defined]
                    at_home=bool(raw.get("at_home", True)),
                    away_note=str(raw.get("away", "")),
                    antigen=str(raw.get("antigen", Antigen.NONE)),
                )
            except (ValidationError, KeyError):
                continue
            draft = _draft(person, entry, now=row.received_at, day=day, ip=row.ip, actor=None)
            draft.photo = str(raw.get("photo", ""))
            accepted.append(draft)
        if not accepted:
            continue
        reports += accepted
        community_id = accepted[0].community_id
        audits.append(
            (
                now, None, "resident", row.ip, row.user_agent, "web", AuditLog.Action.SELF_REPORT,
                Household._meta.label_lower, str(row.household_id), labels[row.household_id],
                streets.get(community_id), community_id, _audit_detail(accepted), {},
            )
        )  # fmt: skip
    if reports:
        _write(reports, None, now)
    if audits:
        insert_rows(AuditLog, _AUDIT_COLUMNS, audits)


def _follow_up(reports: list[_Draft], members: dict[int, Resident] | None, now: dt.datetime) -> list[Task]:
    """A task per person whose report is abnormal, once a day; the person's worker is told. `members`: the
    people reported for, read here (the few with an abnormal report) when the caller has none."""
    abnormal = [r.report() for r in reports if r.abnormal]
    if not abnormal:
        return []
    if members is None:
        members = {
            p.pk: p
            for p in Resident.objects.filter(pk__in={r.resident_id for r in abnormal}).select_related(
                "household__building", "household__entrance"
            )
        }
    by_community: dict[int, list[SelfReport]] = {}
    for report in abnormal:
        by_community.setdefault(report.community_id, []).append(report)
    tasks = []
    for community_reports in by_community.values():
        tasks += _follow_up_community(community_reports, members, now)
    return tasks


def _to_home_check(task: Task | TaskSpec, title: str, due_at: dt.datetime, summary: str) -> bool:
    """A call that a worse report turns into an urgent home check (a task made already, or one about to be):
    its title, priority and due time change, the new report goes on top of the detail. False if it was one."""
    if task.priority == Task.Priority.URGENT:
        return False
    task.title, task.priority, task.due_at = title[:300], Task.Priority.URGENT, due_at
    task.detail = f"{summary}\n{task.detail}"
    return True


def _follow_up_community(
    abnormal: list[SelfReport], members: dict[int, Resident], now: dt.datetime
) -> list[Task]:
    from linli.epidemic.selectors import routing_for

    existing = {
        (t.source_id, t.stage): t
        for t in Task.objects.filter(
            source=Task.Source.HEALTH,
            stage__in={f"report-{r.day:%Y%m%d}" for r in abnormal},
            source_id__in=[r.resident_id for r in abnormal],
        )
    }
    routing = routing_for(abnormal[0].community_id)
    new: dict[tuple[int, str], TaskSpec] = {}
    upgraded: list[Task] = []
    for report in abnormal:
        stage = f"report-{report.day:%Y%m%d}"
        person = members[report.resident_id]
        urgent = report.has_fever or report.antigen == Antigen.POSITIVE
        reason = ", ".join(
            [f"{report.temperature} °C"] * report.has_fever
            + [str(_("antigen positive"))] * (report.antigen == Antigen.POSITIVE)
            + report.symptom_labels() * (not urgent)
        )
        title = (
            _("Home check within 2 h (%(reason)s): %(name)s, %(where)s")
            if urgent
            else _("Call (%(reason)s): %(name)s, %(where)s")
        ) % {"reason": reason, "name": person.name, "where": person.household}
        key = (report.resident_id, stage)
        due_at = now + dt.timedelta(hours=HOME_CHECK_HOURS if urgent else CALL_HOURS)
        task = existing.get(key)
        if task is not None:
            # Once a person and day; but a call turns into a home check when a later report is worse.
            if urgent and task.is_open and _to_home_check(task, title, due_at, report.summary):
                task.next_escalation_at = due_at
                task.save(update_fields=["title", "priority", "due_at", "next_escalation_at", "detail"])
                upgraded.append(task)
            continue
        spec = new.get(key)
        if spec is not None:
            # Two abnormal reports of one person in one batch (a cough, then a fever a minute later): one task,
            # a home check if either needs one.
            if urgent:
                _to_home_check(spec, title, due_at, report.summary)
            continue
        new[key] = TaskSpec(
            title=title,
            detail=report.summary,
            due_at=due_at,
            community_id=report.community_id,
            grid_id=report.grid_id,
            priority=Task.Priority.URGENT if urgent else Task.Priority.HIGH,
            source=Task.Source.HEALTH,
            source_id=report.resident_id,
            stage=stage,
            escalation_minutes=30,
            **routing.task_owners(report.building_id),
        )
    tasks = tasks_create(list(new.values())) + upgraded
    messages = [
        Message(
            user_id=t.assignee_id or t.leader_id or 0,
            title=t.title,
            body=t.detail,
            url=t.get_absolute_url(),
            urgent=t.priority == Task.Priority.URGENT,
        )
        for t in tasks
        if t.assignee_id or t.leader_id
    ]
    positives = [r for r in abnormal if r.antigen == Antigen.POSITIVE]
    if positives and routing.commander_id:
        for report in positives:
            messages.append(
                Message(
                    user_id=routing.commander_id,
                    title=_("Positive antigen test reported: %(where)s")
                    % {"where": members[report.resident_id].household},
                    body=report.summary,
                    url="",
                    urgent=True,
                )
            )
    notify_many(messages)
    return tasks


# --- what staff see ---------------------------------------------------------------------------------------


def reports_in_scope(actor: User) -> QuerySet[SelfReport]:
    return SelfReport.objects.filter(scope_q(actor))


def residents_expected(actor: User) -> QuerySet[Resident]:
    return Resident.objects.filter(scope_q(actor), residency__in=LIVING_HERE)


@dataclass
class BuildingRow:
    building: Building
    expected: int = 0
    reported: int = 0
    abnormal: int = 0

    @property
    def missing(self) -> int:
        return max(self.expected - self.reported, 0)

    @property
    def rate(self) -> int:
        return round(100 * self.reported / self.expected) if self.expected else 0


@dataclass
class DaySummary:
    day: dt.date
    expected: int
    reported: int
    abnormal: int
    fever: int
    positive: int
    buildings: list[BuildingRow]

    @property
    def rate(self) -> int:
        return round(100 * self.reported / self.expected) if self.expected else 0

    @property
    def missing(self) -> int:
        return max(self.expected - self.reported, 0)

    @property
    def communities(self) -> int:
        return len({row.building.community_id for row in self.buildings})


def day_summary(actor: User, day: dt.date) -> DaySummary:
    """The day's reporting by building, in the actor's scope: three grouped queries."""
    from linli.health.models import FEVER_AT

    expected = dict(
        residents_expected(actor).values_list("household__building_id").annotate(n=Count("id")).order_by()
    )
    current = reports_in_scope(actor).filter(day=day, current=True)
    by_building = {
        b: (n, a)
        for b, n, a in current.values_list("building_id")
        .annotate(n=Count("id"), a=Count("id", filter=Q(abnormal=True)))
        .order_by()
        .values_list("building_id", "n", "a")
    }
    totals = current.aggregate(
        fever=Count("id", filter=Q(temperature__gte=FEVER_AT)),
        positive=Count("id", filter=Q(antigen=Antigen.POSITIVE)),
    )
    buildings = (
        Building.objects.filter(pk__in=set(expected) | set(by_building))
        .select_related("community")
        .order_by("community__name", "sort_key", "number")
    )
    rows = [
        BuildingRow(
            building=b,
            expected=expected.get(b.pk, 0),
            reported=by_building.get(b.pk, (0, 0))[0],
            abnormal=by_building.get(b.pk, (0, 0))[1],
        )
        for b in buildings
    ]
    return DaySummary(
        day=day,
        expected=sum(r.expected for r in rows),
        reported=sum(r.reported for r in rows),
        abnormal=sum(r.abnormal for r in rows),
        fever=totals["fever"],
        positive=totals["positive"],
        buildings=rows,
    )


@dataclass
class DayCounts:
    expected: int
    reported: int
    abnormal: int

    @property
    def rate(self) -> int:
        return round(100 * self.reported / self.expected) if self.expected else 0


def day_counts(actor: User, day: dt.date) -> DayCounts | None:
    """The home page's line: None on a day nobody in scope reported (no daily reporting going on)."""
    counts = (
        reports_in_scope(actor)
        .filter(day=day, current=True)
        .aggregate(n=Count("id"), a=Count("id", filter=Q(abnormal=True)))
    )
    if not counts["n"]:
        return None
    return DayCounts(expected=residents_expected(actor).count(), reported=counts["n"], abnormal=counts["a"])


def not_reported(actor: User, building: Building, day: dt.date) -> QuerySet[Resident]:
    """People in the building (in the actor's scope) with no report for the day: the ones to call."""
    # The community too, so the day's index answers it (not a scan of every building's history).
    done = SelfReport.objects.filter(
        community_id=building.community_id, building_id=building.pk, day=day, current=True
    ).values("resident_id")
    return (
        residents_expected(actor)
        .filter(household__building=building)
        .exclude(pk__in=done)
        .select_related("household__entrance", "household__building")
    )


def abnormal_reports(actor: User, day: dt.date) -> QuerySet[SelfReport]:
    return (
        reports_in_scope(actor)
        .filter(day=day, current=True, abnormal=True)
        .select_related(
            "resident__household__building", "resident__household__entrance", "resident__community"
        )
        .order_by("-submitted_at")
    )


def report_get(actor: User, pk: int) -> SelfReport:
    from django.http import Http404

    report = reports_in_scope(actor).select_related("resident__household").filter(pk=pk).first()
    if report is None:
        raise Http404
    return report


def resident_history(resident_id: int, days: int = 14) -> QuerySet[SelfReport]:
    since = timezone.localdate() - dt.timedelta(days=days)
    return SelfReport.objects.filter(resident_id=resident_id, day__gte=since).order_by(
        "-day", "-submitted_at"
    )


def household_abnormal_today(household_id: int, day: dt.date) -> list[SelfReport]:
    """The household's abnormal reports counting for `day`, with the person's name."""
    return list(
        SelfReport.objects.filter(resident__household_id=household_id, day=day, current=True, abnormal=True)
        .select_related("resident")
        .order_by("resident_id")
    )


def household_today(household_id: int, day: dt.date) -> dict[int, SelfReport]:
    return {
        r.resident_id: r
        for r in SelfReport.objects.filter(resident__household_id=household_id, day=day, current=True).only(
            "resident_id", "submitted_at", "temperature", "abnormal", "symptoms", "antigen", "at_home"
        )
    }
