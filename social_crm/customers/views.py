"""Customer pages: thin views over social_crm.customers.actions, all on TenantView. Seeing
customers needs CUSTOMERS_VIEW; every change, the import and the export CUSTOMERS_MANAGE."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from social_crm.tenancy.base import ActionDeleteView, TenantView
from social_crm.tenancy.permissions import Action
from social_crm.tenancy.views import apply_errors

from . import actions, csv_io, gdpr, selectors
from .forms import CustomerForm, ImportForm, MergeForm, PrivacyForm, SubjectForm
from .models import Customer, LinkSuggestion, SocialIdentity, SuggestionStatus

PAGE_SIZE = 50


class CustomerListView(TenantView):
    required_action = Action.CUSTOMERS_VIEW
    template_name = "customers/list.html"
    model = Customer

    def get(self, request):
        q = request.GET.get("q", "").strip()[:200]
        customers = self.get_queryset().filter(merged_into__isnull=True).order_by("name_folded", "id")
        if q:
            customers = selectors.search(customers, q)
        page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
        pending = LinkSuggestion.objects.filter(tenant_id=self.tenant.pk, status=SuggestionStatus.PENDING).count()
        return self.render(page=page, q=q, pending=pending, can_manage=self.can(Action.CUSTOMERS_MANAGE))


class CustomerDetailView(TenantView):
    required_action = Action.CUSTOMERS_VIEW
    template_name = "customers/detail.html"

    def context(self, customer: Customer, **extra) -> dict:
        tid = self.tenant.pk
        suggestions = (LinkSuggestion.objects.filter(tenant_id=tid, customer=customer, status=SuggestionStatus.PENDING)
                       .select_related("identity").order_by("-confidence", "id"))
        return {"customer": customer, "can_manage": self.can(Action.CUSTOMERS_MANAGE),
                "can_erase": self.can(Action.SETTINGS_MANAGE),
                "identities": SocialIdentity.objects.filter(tenant_id=tid, customer=customer),
                "suggestions": suggestions, "merges": selectors.recent_merges(tid, customer),
                "duplicates": selectors.possible_duplicates(tid, customer) if not customer.merged_into_id else [],
                "timeline": selectors.timeline(tid, self.tenant.slug, customer),
                "merge_form": extra.pop("merge_form", None) or MergeForm(), **extra}

    def get(self, request, customer_id: int):
        return self.render(**self.context(actions.access_customer(self.tenant.pk, customer_id)))


class CustomerEditView(TenantView):
    required_action = Action.CUSTOMERS_MANAGE
    template_name = "customers/form.html"

    def get(self, request, customer_id: int | None = None):
        customer = actions.access_customer(self.tenant.pk, customer_id) if customer_id else None
        initial = {"tier": "standard"}
        if customer:
            initial = {f: getattr(customer, f) for f in CustomerForm.base_fields}
        return self.render(form=CustomerForm(initial=initial), customer=customer)

    def post(self, request, customer_id: int | None = None):
        customer = actions.access_customer(self.tenant.pk, customer_id) if customer_id else None
        form = CustomerForm(request.POST)
        if form.is_valid():
            try:
                saved = actions.customer_save(self.tenant.pk, actor=request.user, customer_id=customer_id,
                                              **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Customer saved."))
                return redirect("customer-detail", tenant_slug=self.tenant.slug, customer_id=saved.pk)
        return self.render(status=400, form=form, customer=customer)


class CustomerDeleteView(ActionDeleteView):
    required_action = Action.CUSTOMERS_MANAGE
    delete_action = staticmethod(actions.customer_delete)
    id_kwarg, message, list_url = "customer_id", gettext_noop("Customer deleted."), "customers"


class CustomerMergeView(CustomerDetailView):
    """Merge another customer (its number) into this one, the survivor."""

    required_action = Action.CUSTOMERS_MANAGE

    def post(self, request, customer_id: int):
        survivor = actions.access_customer(self.tenant.pk, customer_id)
        form = MergeForm(request.POST)
        if form.is_valid():
            try:
                actions.customer_merge(self.tenant.pk, actor=request.user, survivor_id=survivor.pk,
                                       merged_id=form.cleaned_data["merged"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Customers merged. You can undo it below."))
                return redirect("customer-detail", tenant_slug=self.tenant.slug, customer_id=survivor.pk)
        return self.render(status=400, **self.context(survivor, merge_form=form))


class MergeUndoView(TenantView):
    required_action = Action.CUSTOMERS_MANAGE

    def post(self, request, merge_id: int):
        record = actions.access_merge(self.tenant.pk, merge_id)
        try:
            actions.customer_merge_undo(self.tenant.pk, actor=request.user, merge_id=record.pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Merge undone."))
        return redirect("customer-detail", tenant_slug=self.tenant.slug, customer_id=record.survivor_id)


class _SuggestionDecisionView(TenantView):
    """Confirm or reject; an htmx request (the customer card of a conversation) gets the card
    again, a plain post goes back to the customer page."""

    required_action = Action.CUSTOMERS_MANAGE
    template_name = "customers/_card.html"
    decide = None

    def post(self, request, suggestion_id: int):
        suggestion = actions.access_suggestion(self.tenant.pk, suggestion_id)
        try:
            self.decide(self.tenant.pk, actor=request.user, suggestion_id=suggestion.pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        if request.headers.get("HX-Request"):
            return self.render(author=suggestion.identity.author)
        return redirect("customer-detail", tenant_slug=self.tenant.slug, customer_id=suggestion.customer_id)


class SuggestionConfirmView(_SuggestionDecisionView):
    decide = staticmethod(actions.suggestion_confirm)


class SuggestionRejectView(_SuggestionDecisionView):
    decide = staticmethod(actions.suggestion_reject)


class IdentityUnlinkView(TenantView):
    required_action = Action.CUSTOMERS_MANAGE

    def post(self, request, identity_id: int):
        identity = actions.access_identity(self.tenant.pk, identity_id)
        customer_id = identity.customer_id
        actions.identity_unlink(self.tenant.pk, actor=request.user, identity_id=identity.pk)
        messages.success(request, _("Identity unlinked."))
        if customer_id is None:
            return redirect("customers", tenant_slug=self.tenant.slug)
        return redirect("customer-detail", tenant_slug=self.tenant.slug, customer_id=customer_id)


class CustomerImportView(TenantView):
    required_action = Action.CUSTOMERS_MANAGE
    template_name = "customers/import.html"

    def get(self, request):
        return self.render(form=ImportForm(), report=None)

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        report = None
        if form.is_valid():
            try:
                data = form.cleaned_data["file"].read(csv_io.MAX_IMPORT_BYTES + 1)
                report = csv_io.customers_import(self.tenant.pk, actor=request.user, data=data)
            except ValidationError as exc:
                apply_errors(form, exc)
        return self.render(status=200 if report else 400, form=form if report is None else ImportForm(),
                           report=report)


class CustomerExportView(TenantView):
    required_action = Action.CUSTOMERS_MANAGE

    def get(self, request):
        response = StreamingHttpResponse(csv_io.customers_export(self.tenant.pk, actor=request.user),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="customers-{self.tenant.slug}.csv"'
        return response


# --- GDPR (social_crm/customers/gdpr.py): export needs CUSTOMERS_MANAGE, erasure and the
# retention period SETTINGS_MANAGE (tenant admins). -------------------------------------------


def _json_download(data: dict, filename: str) -> HttpResponse:
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CustomerGdprExportView(TenantView):
    required_action = Action.CUSTOMERS_MANAGE

    def get(self, request, customer_id: int):
        customer = actions.access_customer(self.tenant.pk, customer_id)
        data = gdpr.export_subject(self.tenant.pk, actor=request.user, customer_id=customer.pk)
        return _json_download(data, f"gdpr-customer-{customer.pk}.json")


class CustomerGdprEraseView(TenantView):
    required_action = Action.SETTINGS_MANAGE

    def post(self, request, customer_id: int):
        customer = actions.access_customer(self.tenant.pk, customer_id)
        gdpr.erase_subject(self.tenant.pk, actor=request.user, customer_id=customer.pk)
        messages.success(request, _("The customer's personal data was erased."))
        return redirect("customers", tenant_slug=self.tenant.slug)


class PrivacyView(TenantView):
    """The retention period, and export / erasure of a social handle."""

    required_action = Action.SETTINGS_MANAGE
    template_name = "customers/gdpr_privacy.html"

    def page(self, status=200, **forms):
        settings_row = gdpr.privacy_settings(self.tenant.pk)
        context = {"form": PrivacyForm(initial={"retention_days": settings_row.retention_days}),
                   "subject_form": SubjectForm(), **forms}
        return self.render(status=status, **context)

    def get(self, request):
        return self.page()

    def post(self, request):
        form = PrivacyForm(request.POST)
        if form.is_valid():
            gdpr.privacy_update(self.tenant.pk, actor=request.user, retention_days=form.cleaned_data["retention_days"])
            messages.success(request, _("Retention period saved."))
            return redirect("gdpr-privacy", tenant_slug=self.tenant.slug)
        return self.page(status=400, form=form)


class HandleGdprExportView(PrivacyView):
    """GET ?platform=&handle= (or POST, as the privacy page does: no handle in access logs)."""

    def get(self, request):
        if not request.GET:
            return self.page()  # the form itself
        return self.export(SubjectForm(request.GET))

    def post(self, request):
        return self.export(SubjectForm(request.POST))

    def export(self, form):
        if not form.is_valid():
            return self.page(status=400, subject_form=form)
        data = gdpr.export_subject(self.tenant.pk, actor=self.request.user, **form.cleaned_data)
        return _json_download(data, "gdpr-handle.json")


class HandleGdprEraseView(PrivacyView):
    http_method_names = ["post"]

    def post(self, request):
        form = SubjectForm(request.POST)
        if form.is_valid():
            try:
                counts = gdpr.erase_subject(self.tenant.pk, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Erased: %(authors)s account(s), %(mentions)s mention(s).") % counts)
                return redirect("gdpr-privacy", tenant_slug=self.tenant.slug)
        return self.page(status=400, subject_form=form)
