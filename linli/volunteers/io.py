"""Enterprise enrolment (云入库) from a spreadsheet, with the same tracked import as the resident ledger,
and the export of service records for enterprise credit."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.excel import write_xlsx
from linli.core.identity import mask_id_number, mask_phone
from linli.core.imports import (
    CheckResult,
    CommitResult,
    ImportPage,
    register_import_page,
    register_importer,
    row_checker,
)
from linli.core.models import ImportJob, User
from linli.core.roles import Role
from linli.core.spreadsheet import Column, Table, fold_text, parse_day
from linli.volunteers.models import Certificate, Enterprise, Skill, Tier, Volunteer
from linli.volunteers.services import clean_id_number, clean_phone

ENROL_KIND = "volunteers.enrolment"

COLUMNS = [
    Column("name", gettext_lazy("name"), ("姓名", "name"), True),
    Column("phone", gettext_lazy("phone"), ("手机号码", "手机", "联系电话", "电话", "phone"), True),
    Column("id_number", gettext_lazy("ID number"), ("身份证号", "身份证号码", "证件号码", "id number")),
    Column("skills", gettext_lazy("skills"), ("技能", "专业技能", "特长", "skills")),
    Column("tier", gettext_lazy("tier"), ("层级", "分组", "志愿者类别", "tier")),
    Column("cert_skill", gettext_lazy("certificate for"), ("证书类别", "证书类型", "certificate for")),
    Column("cert_number", gettext_lazy("certificate number"), ("证书编号", "证书号", "certificate number")),
    Column("cert_issuer", gettext_lazy("issued by"), ("发证机构", "发证单位", "issuer")),
    Column("cert_issued", gettext_lazy("date issued"), ("发证日期", "取证日期", "issued")),
    Column("cert_expires", gettext_lazy("expires"), ("有效期至", "证书有效期", "有效期", "expires")),
]
_LABEL = {c.field: str(c.label) for c in COLUMNS}
_TIERS = {
    "日常": Tier.GENERAL,
    "general": Tier.GENERAL,
    "专业": Tier.PROFESSIONAL,
    "professional": Tier.PROFESSIONAL,
    "专家": Tier.EXPERT,
    "expert": Tier.EXPERT,
}
_SPLIT = re.compile(r"[,，、;；/\s]+")


def find_skill(text: str, skills: list[Skill]) -> Skill | None:
    key = fold_text(text)
    for skill in skills:
        if key in {fold_text(skill.name), fold_text(skill.name_en), skill.code}:
            return skill
    # "急救" for 医疗急救, "电工证" for 电工: a name that contains or is contained in the word.
    return next((s for s in skills if key and (key in fold_text(s.name) or fold_text(s.name) in key)), None)


register_import_page(
    ImportPage(
        kind=ENROL_KIND,
        back_url="volunteers:enrol",
        back_label=gettext_lazy("Enrol employees"),
        preview=(
            ("name", gettext_lazy("Name")),
            ("phone", gettext_lazy("Phone")),
            ("tier", gettext_lazy("Tier")),
            ("skills", gettext_lazy("Skills")),
            ("certificate", gettext_lazy("Certificate")),
        ),
        created_label=gettext_lazy("new volunteers"),
        done_url="volunteers:enrol",
        done_label=gettext_lazy("Back to enrolment"),
        uploader_follows=True,
    )
)


@register_importer
class EnrolmentImporter:
    kind: ClassVar[str] = ENROL_KIND
    columns: ClassVar[list[Column]] = COLUMNS

    def _enterprise(self, job: ImportJob) -> Enterprise:
        return Enterprise.objects.get(pk=job.options["enterprise_id"])

    def check(self, job: ImportJob, table: Table) -> CheckResult:
        result = CheckResult()
        enterprise = self._enterprise(job)
        skills = list(Skill.objects.all())
        known = {
            v.phone: v
            for v in Volunteer.objects.filter(street_id=enterprise.street_id)
            .only("phone", "enterprise_id", "community_id", "status")
            .prefetch_related("skills", "certificates")
        }
        from_enterprise = job.created_by is not None and job.created_by.role == Role.ENTERPRISE
        seen: dict[str, int] = {}
        for row, values in table.rows:
            errors, fail = row_checker(row, _LABEL)

            name = unicodedata.normalize("NFKC", str(values.get("name") or "")).strip()
            if not name:
                fail("name", _("the name is missing"))
            phone = ""
            try:
                phone = clean_phone(values.get("phone"))
            except ValidationError as exc:
                fail("phone", " ".join(exc.messages))
            if phone:
                if phone in seen:
                    fail("phone", _("the same phone number as row %(row)d") % {"row": seen[phone]})
                else:
                    seen[phone] = row
                other = known.get(phone)
                if other is not None and (
                    other.enterprise_id != enterprise.pk or other.community_id != job.community_id
                ):
                    # Somebody else's record (a resident who signed up, another community's, another
                    # company's): an upload never takes it over, and does not say whose it is.
                    fail(
                        "phone",
                        _("this phone number belongs to a volunteer registered elsewhere; ask the community"),
                    )
            id_number = ""
            raw_id = values.get("id_number", "")
            try:
                id_number = clean_id_number(raw_id)
            except ValidationError as exc:
                fail("id_number", f"{raw_id}: {' '.join(exc.messages)}")
            held: list[Skill] = []
            for word in _SPLIT.split(str(values.get("skills") or "")):
                if not word:
                    continue
                skill = find_skill(word, skills)
                if skill is None:
                    fail("skills", _("“%(word)s” is not a skill in the catalogue") % {"word": word})
                elif skill not in held:
                    held.append(skill)
            tier_text = fold_text(values.get("tier"))
            tier = (
                next((t for key, t in _TIERS.items() if key in tier_text), None)
                if tier_text
                else Tier.PROFESSIONAL
            )
            if tier is None:
                fail(
                    "tier",
                    _("“%(value)s” is not a tier (日常组, 专业组 or 专家组)") % {"value": values.get("tier")},
                )
            certificate: dict[str, Any] | None = None
            number = str(values.get("cert_number") or "").strip()
            if number:
                cert_skill = (
                    find_skill(str(values.get("cert_skill")), skills)
                    if values.get("cert_skill")
                    else next((s for s in held if s.needs_certificate), None)
                )
                if cert_skill is None:
                    fail("cert_skill", _("say which skill the certificate confirms"))
                try:
                    issued = parse_day(values.get("cert_issued"))
                    expires = parse_day(values.get("cert_expires"))
                except ValueError:
                    fail("cert_issued", _("the certificate dates are not dates (write 2025-06-30)"))
                    issued = expires = None
                if issued is None:
                    fail("cert_issued", _("the certificate's issue date is missing"))
                elif expires is not None and expires < issued:
                    fail("cert_expires", _("the certificate expires before it was issued"))
                if cert_skill is not None and cert_skill not in held:
                    held.append(cert_skill)
                certificate = {
                    "skill": cert_skill,
                    "number": number[:60],
                    "issuer": str(values.get("cert_issuer") or "").strip()[:100] or enterprise.name,
                    "issued_on": issued,
                    "expires_on": expires,
                }
            other = known.get(phone)
            if (
                from_enterprise
                and other is not None
                and other.status == Volunteer.Status.ACTIVE
                and not errors
            ):
                new_skills = {s.pk for s in held} - {s.pk for s in other.skills.all()}
                new_cert = certificate is not None and certificate["number"] not in {
                    c.number for c in other.certificates.all()
                }
                if new_skills or new_cert:
                    fail(
                        "skills",
                        _("already an active volunteer: ask the community to add new skills or certificates"),
                    )
            if errors:
                result.errors.extend(errors)
                continue
            result.records.append(
                (
                    row,
                    {
                        "name": name,
                        "phone": phone,
                        "id_number": id_number,
                        "skills": held,
                        "tier": tier,
                        "certificate": certificate,
                    },
                )
            )
        return result

    def commit(self, job: ImportJob, result: CheckResult, actor: User) -> CommitResult:
        outcome = CommitResult()
        enterprise = self._enterprise(job)
        assert job.community_id is not None
        # The community approves what an enterprise sends; a coordinator's upload is approved as it lands.
        status = Volunteer.Status.APPLIED if actor.role == Role.ENTERPRISE else Volunteer.Status.ACTIVE
        existing = {v.phone: v for v in Volunteer.objects.filter(street_id=enterprise.street_id)}
        now = timezone.now()
        for _row, r in result.records:
            volunteer = existing.get(r["phone"])
            changed = False
            is_new = volunteer is None
            if volunteer is None:
                volunteer = Volunteer.objects.create(
                    community_id=job.community_id,
                    street_id=enterprise.street_id,
                    enterprise=enterprise,
                    name=r["name"],
                    phone=r["phone"],
                    id_number=r["id_number"],
                    tier=r["tier"],
                    status=status,
                    approved_at=now if status == Volunteer.Status.ACTIVE else None,
                    approved_by=actor if status == Volunteer.Status.ACTIVE else None,
                )
                outcome.created += 1
            else:
                # An enterprise's upload adds skills and certificates to its own applicants only (the
                # check refused the rest); a coordinator's upload may also correct name and tier.
                fields: dict[str, Any] = {}
                if actor.role != Role.ENTERPRISE:
                    fields = {"name": r["name"], "tier": r["tier"]}
                if r["id_number"] and not volunteer.id_number:
                    fields["id_number"] = r["id_number"]
                for key, value in fields.items():
                    if getattr(volunteer, key) != value:
                        setattr(volunteer, key, value)
                        changed = True
                if changed:
                    volunteer.save()
            before = set(volunteer.skills.values_list("pk", flat=True))
            volunteer.skills.add(*r["skills"])
            changed |= bool({s.pk for s in r["skills"]} - before)
            cert = r["certificate"]
            if (
                cert
                and not Certificate.objects.filter(
                    volunteer=volunteer, skill=cert["skill"], number=cert["number"]
                ).exists()
            ):
                Certificate.objects.create(volunteer=volunteer, **cert)
                changed = True
            if is_new:
                continue
            if changed:
                outcome.updated += 1
            else:
                outcome.unchanged += 1
        if status == Volunteer.Status.APPLIED and outcome.created:
            from linli.volunteers.services import tell_coordinators

            tell_coordinators(
                job.community_id,
                _("%(enterprise)s enrolled %(n)d employees: approve them")
                % {"enterprise": enterprise.name, "n": outcome.created},
                "/volunteers/?status=applied",
            )
        return outcome

    def preview_row(self, record: dict[str, Any]) -> dict[str, str]:
        cert = record["certificate"]
        return {
            "name": record["name"],
            "phone": mask_phone(record["phone"]),
            "tier": str(Tier(record["tier"]).label),
            "skills": "、".join(s.label for s in record["skills"]),
            "certificate": f"{cert['skill']} {cert['number']} {cert['expires_on'] or ''}".strip()
            if cert
            else "",
        }

    def fingerprint(self, job: ImportJob) -> str:
        enterprise = self._enterprise(job)
        rows = (
            Volunteer.objects.filter(street_id=enterprise.street_id)
            .order_by("phone")
            .values_list("phone", "enterprise_id")
        )
        return str(hash(tuple(rows)))


def credit_record_xlsx(
    enterprise: Enterprise, rows: Iterable[tuple[Volunteer, Decimal, Decimal]], year: int
) -> bytes:
    """Service hours and points per employee, for the enterprise's credit record (seed 000)."""
    headers = [
        _("Enterprise"),
        _("Year"),
        _("Name"),
        _("ID number"),
        _("Phone"),
        _("Tier"),
        _("Hours"),
        _("Points"),
    ]
    lines = (
        [
            enterprise.name,
            year,
            v.name,
            mask_id_number(v.id_number) if v.id_number else "",
            mask_phone(v.phone),
            str(v.get_tier_display()),
            float(hours),
            float(points),
        ]
        for v, points, hours in rows
    )
    return write_xlsx(headers, lines, title=_("Service record"), widths=(24, 6, 10, 20, 14, 16, 8, 8))
