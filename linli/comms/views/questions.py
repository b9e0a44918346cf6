"""Pages: residents' questions and the FAQ.

Public (no login, from the building's QR poster): the ask page with FAQ suggestions while typing, the
ticket page the resident keeps, the community's FAQ. Staff: the questions desk, one question with its
answer form, the FAQ's management.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from linli.comms import questions as svc
from linli.comms.models import Question
from linli.core import ratelimit
from linli.core.access import acts
from linli.core.http import (
    actor_of,
    chosen_community_code,
    error_text,
    form_errors_from,
    next_url,
    posted_id,
    posted_ids,
    resident_page,
)
from linli.core.identity import mask_name, mask_phone
from linli.core.models import User
from linli.core.request_context import client_ip
from linli.health.selfreport import building_from_token_or_404, building_id_from_token, building_token
from linli.registry.models import Building, Community
from linli.registry.selectors import communities_for, community_chosen
from linli.tasks.models import Team
from linli.tasks.selectors import tasks_for

PAGE_SIZE = 50
# One address: questions an hour (a family asks a few; a script asks hundreds), suggestion requests a
# minute (typing sends one every 300 ms at most), "this helped" an hour. Counted in this process.
QUESTIONS_PER_HOUR = int(getattr(settings, "QUESTIONS_PER_HOUR", 10))
_ASKS = ratelimit.LocalWindow(QUESTIONS_PER_HOUR, 3600)
_SUGGESTS = ratelimit.LocalWindow(120, 60)
_HELPED = ratelimit.LocalWindow(30, 3600)
# Ticket links that lead nowhere, per address: someone trying links (counted across servers).
TICKET_MISSES = 20
TICKET_MISS_WINDOW = 15 * 60


def flood_counts_reset() -> None:
    """Tests start from zero."""
    for window in (_ASKS, _SUGGESTS, _HELPED):
        window.reset()


# --- the resident's pages -----------------------------------------------------------------------------------


class AskForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Your question or problem"),
        max_length=svc.TEXT_MAX + 200,  # the service says how long it may be, in the resident's words
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": svc.TEXT_MAX}),
    )
    category = forms.ChoiceField(
        label=gettext_lazy("What is it about?"),
        choices=[("", gettext_lazy("Not sure")), *svc.Category.choices],
        required=False,
    )
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=50, required=False)
    phone = forms.CharField(label=gettext_lazy("Mobile phone"), max_length=30, required=False)
    photo = forms.FileField(label=gettext_lazy("Photo"), required=False)


def _public(response: HttpResponse) -> HttpResponse:
    return resident_page(response)


def _refused(
    request: HttpRequest, building: Building | None, retry: int, *, links: bool = False
) -> HttpResponse:
    """429: too many questions from one network, or (`links`) too many links that do not exist."""
    context = {"building": building, "links": links, "minutes": max(1, round(retry / 60))}
    response = render(request, "comms/ask/refused.html", context, status=429)
    response["Retry-After"] = str(retry)
    return _public(response)


def _site_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _remember(response: HttpResponse, request: HttpRequest, question_id: int) -> None:
    mine = svc.mine_from_cookie(request.COOKIES.get(svc.MINE_COOKIE))
    if mine[:1] == [question_id]:
        return
    response.set_cookie(
        svc.MINE_COOKIE,
        svc.mine_cookie(mine, question_id),
        max_age=svc.MINE_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


def ask(request: HttpRequest, token: str) -> HttpResponse:
    """The building's ask page: the question form, FAQ suggestions while typing, this phone's questions."""
    building = building_from_token_or_404(token)
    ip = client_ip(request)
    status = 200
    if request.method == "POST":
        if not _ASKS.hit(str(ip)):
            return _refused(request, building, 3600)
        form = AskForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                question = svc.question_ask(
                    building=building,
                    text=form.cleaned_data["text"],
                    category=form.cleaned_data["category"],
                    name=form.cleaned_data["name"],
                    phone=form.cleaned_data["phone"],
                    photo=form.cleaned_data["photo"],
                    ip=ip,
                    site_url=_site_url(request),
                )
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                response = redirect(reverse("comms:ticket", args=[question.token]) + "?new=1")
                _remember(response, request, question.pk)
                return _public(response)
        status = 400
    else:
        form = AskForm()
    mine = svc.my_questions(svc.mine_from_cookie(request.COOKIES.get(svc.MINE_COOKIE)))
    context = {
        "building": building,
        "token": token,
        "form": form,
        "categories": form.fields["category"].choices,  # type: ignore[attr-defined]
        "mine": mine,
        "text_max": svc.TEXT_MAX,
    }
    return _public(render(request, "comms/ask/ask.html", context, status=status))


@require_GET
def ask_suggest(request: HttpRequest, token: str) -> HttpResponse:
    """htmx, while the resident types: up to three FAQ entries like the question so far."""
    building_id = building_id_from_token(token)
    if building_id is None:
        raise Http404
    if not _SUGGESTS.hit(str(client_ip(request))):
        return _public(HttpResponse("", status=429))
    text = (request.GET.get("q") or request.GET.get("text") or "")[: svc.TEXT_MAX]
    suggestions: list[svc.Suggestion] = []
    seen = set(posted_ids(request.GET.get("seen", "").split(",")[:50]))
    if len(svc.clean_text(text)) >= 2:
        building = building_from_token_or_404(token)
        suggestions = svc.faq_suggest(building.community_id, text)
        # Counted once per page: typing on does not count the same suggestion again.
        fresh = [s.pk for s in suggestions if s.pk not in seen]
        svc.faq_shown(fresh)
        seen.update(fresh)
    return _public(
        render(
            request,
            "comms/ask/_suggest.html",
            {"suggestions": suggestions, "token": token, "seen": ",".join(map(str, sorted(seen)))},
        )
    )


@require_POST
def ask_helped(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    """htmx: "this answers my question". Counted; nothing is sent to staff."""
    building = building_from_token_or_404(token)
    if not _HELPED.hit(str(client_ip(request))):
        return _public(HttpResponse("", status=429))
    if not svc.faq_helped(community_id=building.community_id, pk=pk):
        raise Http404
    return _public(render(request, "comms/ask/_helped.html", {"building": building}))


def ask_faq(request: HttpRequest, token: str) -> HttpResponse:
    building = building_from_token_or_404(token)
    entries = svc.faq_published(building.community_id)
    return _public(
        render(request, "comms/ask/faq.html", {"building": building, "token": token, "entries": entries})
    )


def ticket(request: HttpRequest, ticket: str) -> HttpResponse:
    """The resident's ticket: the question, its status, the answer. Its link is the only key to it."""
    ip = client_ip(request)
    key = f"ask-ticket-miss:{ip}"
    if ratelimit.hits(key, window_seconds=TICKET_MISS_WINDOW) >= TICKET_MISSES:
        return _refused(request, None, TICKET_MISS_WINDOW, links=True)
    question = svc.ticket_get(ticket)
    if question is None:
        ratelimit.hits(key, window_seconds=TICKET_MISS_WINDOW, add=1)
        raise Http404
    task = question.task if question.task_id else None
    context = {
        "question": question,
        "building": question.building,
        "community": question.community,
        "token": building_token(question.building_id) if question.building_id else "",
        "new": request.GET.get("new") == "1",
        "due_at": task.due_at if task is not None and question.status == Question.Status.OPEN else None,
        "masked_phone": mask_phone(question.phone),
        "team": _team_label(question.team),
    }
    response = render(request, "comms/ask/ticket.html", context)
    _remember(response, request, question.pk)
    return _public(response)


# --- staff: the questions desk ------------------------------------------------------------------------------


def _team_label(team: str) -> str:
    return str(Team(team).label) if team in Team.values else team


def _community_filter(request: HttpRequest, actor: User) -> tuple[list[Community], Community | None]:
    """A street account's communities and the one picked (None: all of them)."""
    communities = list(communities_for(actor).order_by("name")) if actor.community_id is None else []
    code = request.GET.get("community", "")
    chosen = next((c for c in communities if c.code == code), None)
    return communities, chosen


@login_required
def questions(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    status = request.GET.get("status", "all")
    status = status if status in svc.STATUS_FILTERS else "all"
    team = request.GET.get("team", "")
    team = team if team in svc.QUESTION_TEAMS else ""
    communities, community = _community_filter(request, actor)
    now = timezone.now()
    community_id = community.pk if community else None
    page = Paginator(
        svc.question_list(actor, status=status, team=team, community_id=community_id, now=now), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    rows = [
        {
            "q": q,
            "overdue": q.status == Question.Status.OPEN and q.task is not None and q.task.due_at < now,
            "who": mask_name(q.name),
            "phone": mask_phone(q.phone),
            "team": _team_label(q.team),
        }
        for q in page.object_list
    ]
    counts = svc.desk_counts(actor, community_id=community_id, now=now)
    return render(
        request,
        "comms/questions/list.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "team": team,
            "teams": [(t, Team(t).label, counts.by_team.get(t, 0)) for t in svc.QUESTION_TEAMS],
            "counts": counts,
            "communities": communities,
            "community": community,
            "now": now,
        },
    )


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=gettext_lazy("Answer"),
        max_length=svc.ANSWER_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    add_to_faq = forms.BooleanField(label=gettext_lazy("Add to FAQ"), required=False)
    faq_question = forms.CharField(
        label=gettext_lazy("FAQ question"), max_length=svc.FAQ_QUESTION_MAX, required=False
    )
    also = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args: Any, similar: list[Question], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["also"].choices = [(q.pk, q.text[:50]) for q in similar]  # type: ignore[attr-defined]


class CloseForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Why"), choices=svc.CloseReason.choices)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)


def _faq_wording(question: Question) -> str:
    """The FAQ question to start from: the resident's words on one line, at most one sentence or two."""
    text = " ".join(question.text.split())
    return text[: svc.FAQ_QUESTION_MAX]


@login_required
def question_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One question: what the resident asked, the answer form with the similar open questions, closing it."""
    actor = actor_of(request)
    question = svc.question_get(actor, pk)
    is_open = question.status == Question.Status.OPEN
    similar = svc.similar_open(question) if is_open else []
    can_answer = svc.can_answer(actor, question)
    form = AnswerForm(
        request.POST if request.method == "POST" else None,
        similar=[q for q, _score in similar],
        initial={"faq_question": _faq_wording(question)},
    )
    status = 200
    if request.method == "POST":
        if not can_answer:
            raise PermissionDenied
        if form.is_valid():
            also = list(
                svc.questions_for(actor)
                .filter(
                    pk__in=form.cleaned_data["also"],
                    community_id=question.community_id,
                    status=Question.Status.OPEN,
                )
                .select_related("task", "community")
            )
            try:
                result = svc.questions_answer(
                    actor=actor,
                    question=question,
                    answer=form.cleaned_data["answer"],
                    also=also,
                    add_to_faq=form.cleaned_data["add_to_faq"],
                    faq_question=form.cleaned_data["faq_question"],
                    site_url=_site_url(request),
                )
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                _answered_messages(request, question, result)
                return redirect("comms:question", question.pk)
        status = 400
    context = {
        "question": question,
        "task": question.task,
        # Staff of another grid may answer; the task itself opens only for those who may see it.
        "task_visible": question.task_id is not None
        and tasks_for(actor).filter(pk=question.task_id).exists(),
        "overdue": is_open and question.task is not None and question.task.due_at < timezone.now(),
        "similar": similar,
        # The FAQ's answers to much the same question: one tap puts the words in the answer box.
        "faq_matches": svc.faq_suggest(question.community_id, question.text)
        if is_open and can_answer
        else [],
        "also_checked": set(posted_ids(request.POST.getlist("also"))) if request.method == "POST" else set(),
        "form": form,
        "close_form": CloseForm(),
        "can_answer": can_answer,
        "who": mask_name(question.name),
        "phone": mask_phone(question.phone),
        "teams": [(t, Team(t).label) for t in svc.QUESTION_TEAMS],
        "team_label": _team_label(question.team),
        "next_open": _next_open(actor, question) if not is_open else None,
    }
    return render(request, "comms/questions/detail.html", context, status=status)


def _answered_messages(request: HttpRequest, question: Question, result: svc.Answered) -> None:
    if question in result.skipped:
        messages.warning(request, _("Someone answered or closed this question first; nothing was changed."))
    if result.answered:
        text = _("Answered %(n)d question(s).") % {"n": len(result.answered)}
        if result.sms:
            text += " " + _("%(n)d resident(s) will get the answer by SMS.") % {"n": result.sms}
        if result.faq is not None:
            text += " " + _("The answer is now in the FAQ.")
        messages.success(request, text)
    others = [q for q in result.skipped if q.pk != question.pk]
    if others:
        messages.warning(
            request,
            _("%(n)d of the similar questions had been answered or closed already.") % {"n": len(others)},
        )


def _next_open(actor: User, question: Question) -> int | None:
    """The next question waiting in the same community, for a worker going through the queue."""
    return (
        svc.question_list(actor, status="open", community_id=question.community_id)
        .values_list("pk", flat=True)
        .first()
    )


@require_POST
@login_required
def question_close(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    question = svc.question_get(actor, pk)
    if not svc.can_answer(actor, question):
        raise PermissionDenied
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose why the question is closed."))
        return redirect("comms:question", question.pk)
    try:
        svc.question_close(
            actor=actor, question=question, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"]
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("comms:question", question.pk)
    messages.success(request, _("The question is closed."))
    return redirect("comms:question", question.pk)


@require_POST
@login_required
def question_team(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    question = svc.question_get(actor, pk)
    if not svc.can_answer(actor, question):
        raise PermissionDenied
    try:
        svc.question_reroute(
            actor=actor, question=question, team=request.POST.get("team", ""), site_url=_site_url(request)
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request, _("The question is now with %(team)s.") % {"team": Team(question.team).label}
        )
    return redirect("comms:question", question.pk)


@require_POST
@login_required
def question_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    question = svc.question_get(actor, pk)
    value = svc.question_phone_reveal(actor=actor, question=question)
    return render(request, "health/_phone.html", {"value": value})


@login_required
def question_photo(request: HttpRequest, pk: int) -> FileResponse:
    """The resident's photo, only to staff who see the question; never a public media address."""
    actor = actor_of(request)
    question = svc.question_get(actor, pk)
    if not question.photo:
        raise Http404
    content_type = mimetypes.guess_type(question.photo.name)[0] or "application/octet-stream"
    response = FileResponse(question.photo.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- staff: the FAQ -----------------------------------------------------------------------------------------


class FaqForm(forms.Form):
    question = forms.CharField(
        label=gettext_lazy("Question"),
        max_length=svc.FAQ_QUESTION_MAX,
        help_text=gettext_lazy("As residents would ask it; suggestions are matched on these words."),
    )
    answer = forms.CharField(
        label=gettext_lazy("Answer"), max_length=svc.ANSWER_MAX, widget=forms.Textarea(attrs={"rows": 6})
    )
    team = forms.ChoiceField(
        label=gettext_lazy("Team"),
        choices=[("", "—")] + [(t, Team(t).label) for t in svc.QUESTION_TEAMS],
        required=False,
    )
    published = forms.BooleanField(
        label=gettext_lazy("Published: residents see it on the ask page"), required=False, initial=True
    )

    def values(self) -> dict[str, Any]:
        return {key: self.cleaned_data[key] for key in ("question", "answer", "team", "published")}


@login_required
def faq(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    show = request.GET.get("show", "all")
    show = show if show in ("all", "published", "hidden") else "all"
    communities, community = _community_filter(request, actor)
    page = Paginator(
        svc.faq_rows(actor, community_id=community.pk if community else None, show=show), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "comms/questions/faq_list.html",
        {
            "page": page,
            "show": show,
            "communities": communities,
            "community": community,
            "can_edit": acts(actor),
        },
    )


@login_required
def faq_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = community_chosen(actor, chosen_community_code(request))
    if not svc.can_edit_faq(actor, community.pk):
        raise PermissionDenied
    initial: dict[str, Any] = {"published": True}
    source = posted_id(request.GET.get("question"))
    if source:
        # From an answered question: its words and its answer to start from.
        asked = svc.question_get(actor, source)
        community = asked.community
        initial.update(question=_faq_wording(asked), answer=asked.answer, team=asked.team)
    form = FaqForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            entry = svc.faq_create(actor=actor, community=community, **form.values())
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Added to the FAQ: %(q)s") % {"q": entry.question})
            return redirect("comms:faq")
    return render(
        request,
        "comms/questions/faq_form.html",
        {"form": form, "community": community, "entry": None},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def faq_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    entry = svc.faq_get(actor, pk)
    can_edit = svc.can_edit_faq(actor, entry.community_id)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    form = FaqForm(
        request.POST or None,
        initial={
            "question": entry.question,
            "answer": entry.answer,
            "team": entry.team,
            "published": entry.published,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            svc.faq_update(actor=actor, entry=entry, **form.values())
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("comms:faq")
    return render(
        request,
        "comms/questions/faq_form.html",
        {"form": form, "community": entry.community, "entry": entry, "can_edit": can_edit},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
@login_required
def faq_publish(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    entry = svc.faq_get(actor, pk)
    published = request.POST.get("published") == "1"
    svc.faq_set_published(actor=actor, entry=entry, published=published)
    messages.success(
        request,
        (_("Published: %(q)s") if published else _("Hidden from residents: %(q)s")) % {"q": entry.question},
    )
    return redirect(next_url(request, reverse("comms:faq")))


@require_POST
@login_required
def faq_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    entry = svc.faq_get(actor, pk)
    question = entry.question
    svc.faq_delete(actor=actor, entry=entry)
    messages.success(request, _("Deleted from the FAQ: %(q)s") % {"q": question})
    return redirect("comms:faq")


urlpatterns: list[URLPattern | URLResolver] = [
    # The residents' pages (no login): from the building's QR poster.
    path("ask/t/<str:ticket>/", ticket, name="ticket"),
    path("ask/<str:token>/", ask, name="ask"),
    path("ask/<str:token>/suggest", ask_suggest, name="ask_suggest"),
    path("ask/<str:token>/faq", ask_faq, name="ask_faq"),
    path("ask/<str:token>/faq/<int:pk>/helped", ask_helped, name="ask_helped"),
    # Staff.
    path("comms/questions/", questions, name="questions"),
    path("comms/questions/<int:pk>/", question_detail, name="question"),
    path("comms/questions/<int:pk>/close/", question_close, name="question_close"),
    path("comms/questions/<int:pk>/team/", question_team, name="question_team"),
    path("comms/questions/<int:pk>/reveal/", question_reveal, name="question_reveal"),
    path("comms/questions/<int:pk>/photo/", question_photo, name="question_photo"),
    path("comms/faq/", faq, name="faq"),
    path("comms/faq/new/", faq_new, name="faq_new"),
    path("comms/faq/<int:pk>/", faq_edit, name="faq_edit"),
    path("comms/faq/<int:pk>/publish/", faq_publish, name="faq_publish"),
    path("comms/faq/<int:pk>/delete/", faq_delete, name="faq_delete"),
]
