"""Topic and entity-term pages: thin views over listening.nlp.topic_actions, all on TenantView.
Seeing them needs LISTENING_VIEW; changing them NLP_MANAGE."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.utils.translation import ngettext

from social_crm.tenancy.base import ActionDeleteView, TenantView
from social_crm.tenancy.permissions import Action
from social_crm.tenancy.views import apply_errors

from .access import access_entity_term, access_topic
from .forms_topics import EntityTermForm, TopicForm
from .models import EntityTerm, MentionTopic, Topic, TopicExample
from .nlp import topic_actions

MENTION_WINDOW_DAYS = 30


def _count(queryset):
    """A correlated COUNT(*) per topic: two counts as subqueries, not joins that multiply."""
    counted = queryset.order_by().values("topic_id").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


class TopicListView(TenantView):
    required_action = Action.LISTENING_VIEW
    template_name = "listening/topics/list.html"
    model = Topic

    def get(self, request):
        since = timezone.now() - timedelta(days=MENTION_WINDOW_DAYS)
        tid = self.tenant.pk
        topics = self.get_queryset().annotate(
            example_count=_count(TopicExample.objects.filter(tenant_id=tid, topic_id=OuterRef("pk"), is_positive=True)),
            mention_count=_count(MentionTopic.objects.filter(tenant_id=tid, topic_id=OuterRef("pk"),
                                                             mention__created_at__gte=since)),
        )
        return self.render(topics=topics, can_manage=self.can(Action.NLP_MANAGE), days=MENTION_WINDOW_DAYS)


class TopicEditView(TenantView):
    """The topic form; "Test" shows what the rules (not saved) would tag among the last N
    mentions: an htmx request gets only the results panel, a plain post the whole page."""

    required_action = Action.NLP_MANAGE
    template_name = "listening/topics/form.html"

    def _examples(self, topic):
        if topic is None:
            return [], []
        examples = list(TopicExample.objects.filter(tenant_id=self.tenant.pk, topic=topic, mention__isnull=False)
                        .order_by("-created_at", "-id"))
        return [e for e in examples if e.is_positive], [e for e in examples if not e.is_positive]

    def get(self, request, topic_id: int | None = None):
        topic = access_topic(self.tenant.pk, topic_id) if topic_id else None
        positives, negatives = self._examples(topic)
        initial = {"is_active": True, "last_n": 200}
        if topic:
            initial.update(name=topic.name, keywords="\n".join(topic.keywords), description=topic.description,
                           is_active=topic.is_active, example_mention_ids=[e.mention_id for e in positives])
        return self.render(form=TopicForm(initial=initial), topic=topic, positives=positives, negatives=negatives,
                           preview=None, selected_ids={e.mention_id for e in positives})

    def post(self, request, topic_id: int | None = None):
        topic = access_topic(self.tenant.pk, topic_id) if topic_id else None
        positives, negatives = self._examples(topic)
        form = TopicForm(request.POST)
        valid = form.is_valid()
        context = {"form": form, "topic": topic, "positives": positives, "negatives": negatives, "preview": None,
                   "selected_ids": set(form.cleaned_data.get("example_mention_ids") or [])}
        if "preview" in request.POST:
            form.errors.pop("name", None)  # a rule set can be tried before it has a name
            if "keywords" in form.cleaned_data and "example_mention_ids" in form.cleaned_data:
                context["preview"] = self._preview(form, [e.mention_id for e in negatives])
            status = 200 if context["preview"] is not None else 400
            if request.headers.get("HX-Request"):
                self.template_name = "listening/topics/_preview.html"
            return self.render(status=status, **context)
        if valid:
            data = form.cleaned_data
            try:
                topic_actions.topic_save(
                    self.tenant.pk, actor=request.user, topic_id=topic_id, name=data["name"], keywords=data["keywords"],
                    description=data["description"], is_active=data["is_active"],
                    example_mention_ids=data["example_mention_ids"], replace_examples=True)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Topic saved."))
                return redirect("topics", tenant_slug=self.tenant.slug)
        return self.render(status=400, **context)

    def _preview(self, form, negative_ids: list[int]):
        data = form.cleaned_data
        try:
            matched, scanned = topic_actions.preview_topic(
                self.tenant.pk, keywords=data["keywords"], example_mention_ids=data["example_mention_ids"],
                negative_mention_ids=negative_ids, last_n=data.get("last_n") or 200)
        except ValidationError as exc:
            apply_errors(form, exc)
            return None
        return {"scanned": scanned, "hit_count": len(matched), "hits": matched[:50],
                "selected": set(data["example_mention_ids"])}


class _DeleteView(ActionDeleteView):
    required_action = Action.NLP_MANAGE


class TopicDeleteView(_DeleteView):
    delete_action = staticmethod(topic_actions.topic_delete)
    id_kwarg, message, list_url = "topic_id", gettext_noop("Topic deleted."), "topics"


class TopicStartersView(TenantView):
    """Add the five usual topics, named in the tenant's language (keywords in both)."""

    required_action = Action.NLP_MANAGE

    def post(self, request):
        created = topic_actions.install_starter_topics(self.tenant.pk, actor=request.user,
                                                       language=self.tenant.default_language)
        if created:
            messages.success(request, ngettext("%(n)s topic added.", "%(n)s topics added.", len(created))
                             % {"n": len(created)})
        else:
            messages.info(request, _("The starter topics are already there."))
        return redirect("topics", tenant_slug=self.tenant.slug)


class EntityTermListView(TenantView):
    required_action = Action.LISTENING_VIEW
    template_name = "listening/topics/terms.html"
    model = EntityTerm

    def get(self, request):
        return self.render(terms=self.get_queryset(), can_manage=self.can(Action.NLP_MANAGE))


class EntityTermEditView(TenantView):
    required_action = Action.NLP_MANAGE
    template_name = "listening/topics/term_form.html"

    def get(self, request, term_id: int | None = None):
        term = access_entity_term(self.tenant.pk, term_id) if term_id else None
        initial = {"is_active": True}
        if term:
            initial = {"kind": term.kind, "name": term.name, "patterns": "\n".join(term.patterns),
                       "is_active": term.is_active}
        return self.render(form=EntityTermForm(initial=initial), term=term)

    def post(self, request, term_id: int | None = None):
        term = access_entity_term(self.tenant.pk, term_id) if term_id else None
        form = EntityTermForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                topic_actions.entity_term_save(self.tenant.pk, actor=request.user, term_id=term_id, kind=data["kind"],
                                               name=data["name"], patterns=data["patterns"],
                                               is_active=data["is_active"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Entity term saved."))
                return redirect("entity-terms", tenant_slug=self.tenant.slug)
        return self.render(status=400, form=form, term=term)


class EntityTermDeleteView(_DeleteView):
    delete_action = staticmethod(topic_actions.entity_term_delete)
    id_kwarg, message, list_url = "term_id", gettext_noop("Entity term deleted."), "entity-terms"
