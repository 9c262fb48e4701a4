"""Pages for people correcting the NLP and for the tenant's sentiment models. Thin views over
``listening.nlp.corrections``, ``listening.nlp.topic_actions`` and ``listening.nlp.tenant_models``.

* In the stream: one-click sentiment correction and topic add/remove on a mention; an htmx
  request gets the re-rendered row back, a plain form post is redirected to the stream.
* "Sentiment models" (tenant admin): the model in use per language, every tenant model with its
  metrics, retrain / activate / roll back / use the shared model, and the progress of a training.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models.functions import Length
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from social_crm.tenancy.base import TenantView
from social_crm.tenancy.permissions import Action
from social_crm.tenancy.views import apply_errors

from .access import access_mention, access_tenant_model
from .models import Mention, ModelStatus, Sentiment, TenantSentimentModel, Topic
from .nlp import corrections, tenant_models

LANGUAGE_NAMES = {"en": gettext_lazy("English"), "fr": gettext_lazy("French")}


class SentimentForm(forms.Form):
    sentiment = forms.ChoiceField(label=gettext_lazy("Sentiment"), choices=Sentiment.choices)


class TopicToggleForm(forms.Form):
    topic = forms.ModelChoiceField(label=gettext_lazy("Topic"), queryset=Topic.objects.none())
    present = forms.BooleanField(required=False)

    def __init__(self, *args, tenant_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this tenant's topics are valid: another tenant's id is "not a valid choice" (400).
        self.fields["topic"].queryset = Topic.objects.filter(tenant_id=tenant_id)


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=list(LANGUAGE_NAMES.items()))


# --- The mention row ----------------------------------------------------------------------------


class _MentionRowView(TenantView):
    """Re-renders one row of the stream (htmx, or any refused input: 400 with the errors in the
    row) or goes back to the stream (a plain form post that worked)."""

    required_action = Action.MENTIONS_CORRECT
    template_name = "listening/_mention_rows.html"

    def done(self, mention_id: int, form=None, status: int = 200) -> HttpResponse:
        if status == 200 and not self.request.headers.get("HX-Request"):
            return redirect(reverse("mentions", kwargs={"tenant_slug": self.tenant.slug}) + f"#mention-{mention_id}")
        mention = (Mention.objects.filter(tenant_id=self.tenant.pk, pk=mention_id).select_related("author")
                   .prefetch_related("matched_queries").get())
        errors = [str(e) for errs in form.errors.values() for e in errs] if form is not None else []
        return self.render(status=status, mentions=[mention], row_errors=errors, row_error_mention=mention.pk)


class MentionSentimentView(_MentionRowView):
    def post(self, request, mention_id: int):
        mention = access_mention(self.tenant.pk, mention_id)
        form = SentimentForm(request.POST)
        if not form.is_valid():
            return self.done(mention.pk, form, status=400)
        try:
            corrections.correct_sentiment(self.tenant.pk, actor=request.user, mention_id=mention.pk,
                                          label=form.cleaned_data["sentiment"])
        except ValidationError as exc:
            apply_errors(form, exc)
            return self.done(mention.pk, form, status=400)
        return self.done(mention.pk)


class MentionTopicView(_MentionRowView):
    def post(self, request, mention_id: int):
        mention = access_mention(self.tenant.pk, mention_id)
        form = TopicToggleForm(request.POST, tenant_id=self.tenant.pk)
        if not form.is_valid():
            return self.done(mention.pk, form, status=400)
        from .nlp.topic_actions import set_mention_topic

        try:
            set_mention_topic(self.tenant.pk, actor=request.user, mention_id=mention.pk,
                              topic_id=form.cleaned_data["topic"].pk, present=form.cleaned_data["present"])
        except ValidationError as exc:
            apply_errors(form, exc)
            return self.done(mention.pk, form, status=400)
        return self.done(mention.pk)


# --- Sentiment models -----------------------------------------------------------------------------


REASONS = {
    "held_out_dropped": gettext_lazy("worse on the tenant's held-out corrections"),
    "shared_validation_dropped": gettext_lazy("worse on the shared validation set"),
}
METRIC_NAMES = {"macro_recall": gettext_lazy("macro recall"), "macro_f1": gettext_lazy("macro F1")}


def metric_rows(metrics: dict) -> list[dict]:
    """The candidate-versus-baseline figures of a trained model, ready for the table."""
    key, rows = metrics.get("primary"), []
    for name, label in (("held_out", gettext_lazy("Tenant held-out")), ("shared_validation", gettext_lazy("Shared validation"))):
        part = metrics.get(name) or {}
        candidate, baseline = part.get("candidate"), part.get("baseline")
        if not candidate:
            continue
        rows.append({"label": label, "n": candidate["n"], "candidate": candidate[key], "baseline": (baseline or {}).get(key),
                     "accuracy": candidate["accuracy"], "baseline_accuracy": (baseline or {}).get("accuracy"),
                     "recall": candidate["recall"]})
    return rows


def _models(tenant_id: int):
    return (TenantSentimentModel.objects.filter(tenant_id=tenant_id).defer("artefact")
            .annotate(artefact_size=Length("artefact")).select_related("requested_by"))


class SentimentModelsView(TenantView):
    required_action = Action.NLP_MANAGE
    template_name = "listening/models/list.html"

    def get(self, request):
        return self.render(**self.page_context())

    def page_context(self) -> dict:
        rows = list(_models(self.tenant.pk).order_by("-created_at", "-id"))
        for row in rows:
            row.metric_rows = metric_rows(row.metrics)
            row.metric_name = METRIC_NAMES.get(row.metrics.get("primary"), "")
            row.reasons = [REASONS.get(r, r) for r in row.metrics.get("reasons", [])]
        languages = []
        for code, name in LANGUAGE_NAMES.items():
            mine = [r for r in rows if r.language == code]
            languages.append({
                "code": code, "name": name, "models": mine,
                "active": next((r for r in mine if r.status == ModelStatus.ACTIVE), None),
                "running": next((r for r in mine if r.status in tenant_models.IN_PROGRESS), None),
                "waiting": tenant_models.new_label_count(self.tenant.pk, code),
            })
        return {"languages": languages, "min_labels": settings.NLP_RETRAIN_MIN_LABELS,
                "tolerance": tenant_models.SHARED_VALIDATION_TOLERANCE}


class _ModelActionView(SentimentModelsView):
    """A button of the models page: back to the page, or the page again with the error (400)."""

    def get(self, request):
        return self.back()

    def back(self) -> HttpResponse:
        return redirect("sentiment-models", tenant_slug=self.tenant.slug)

    def invalid(self, form) -> HttpResponse:
        return self.render(status=400, form_errors=form.errors, **self.page_context())


class SentimentModelRetrainView(_ModelActionView):
    def post(self, request):
        form = LanguageForm(request.POST)
        if not form.is_valid():
            return self.invalid(form)
        model = tenant_models.start_training(self.tenant.pk, actor=request.user, language=form.cleaned_data["language"])
        messages.success(request, _("Training queued (%(language)s).") % {"language": LANGUAGE_NAMES[model.language]}
                         if model.status == ModelStatus.QUEUED else _("A training is already running for this language."))
        return self.back()


class SentimentModelUseSharedView(_ModelActionView):
    def post(self, request):
        form = LanguageForm(request.POST)
        if not form.is_valid():
            return self.invalid(form)
        tenant_models.use_shared(self.tenant.pk, actor=request.user, language=form.cleaned_data["language"])
        messages.success(request, _("The shared model is in use; recent mentions will be re-tagged."))
        return self.back()


class SentimentModelActivateView(_ModelActionView):
    def post(self, request, model_id: int):
        try:
            model = tenant_models.activate(self.tenant.pk, actor=request.user, model_id=model_id)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Model %(version)s is in use; recent mentions will be re-tagged.")
                             % {"version": model.version})
        return self.back()


class SentimentModelProgressView(TenantView):
    """The progress bar of one model, polled by htmx while it is queued or training. Once the
    model is finished the page reloads (HX-Refresh) to show its metrics and new status."""

    required_action = Action.NLP_MANAGE
    template_name = "listening/models/_progress.html"

    def get(self, request, model_id: int):
        model = access_tenant_model(self.tenant.pk, model_id)
        response = self.render(model=model)
        if model.status not in tenant_models.IN_PROGRESS and request.headers.get("HX-Request"):
            response["HX-Refresh"] = "true"
        return response
