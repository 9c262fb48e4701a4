"""Listening pages: live mentions, listening queries, channel health, quarantine, notifications.
Thin views over listening.actions, all on TenantView."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from social_crm.tenancy.base import TenantView
from social_crm.tenancy.models import Notification
from social_crm.tenancy.permissions import Action
from social_crm.tenancy.views import apply_errors

from . import actions
from .access import access_account, access_query
from .forms import AccountForm, QueryForm
from .models import ConnectedAccount, ListeningQuery, Mention, Platform, QuarantinedPayload

PAGE_SIZE = 50


class MentionListView(TenantView):
    """The live stream: the newest mentions; htmx asks for rows newer than the first one."""

    required_action = Action.LISTENING_VIEW
    template_name = "listening/mentions.html"
    model = Mention

    def get(self, request):
        mentions = self.get_queryset().select_related("author").prefetch_related("matched_queries").order_by("-id")
        query_id = request.GET.get("query")
        if query_id and query_id.isdigit():
            mentions = mentions.filter(mentionmatch__query_id=int(query_id))
        platform = request.GET.get("platform")
        if platform:
            mentions = mentions.filter(platform=platform)
        after = request.GET.get("after")
        if after and after.isdigit():  # the htmx poll: what arrived since the newest row shown
            # The oldest of them first, so a burst larger than a page is shown over a few polls,
            # never skipped; the rows are then put newest first like the page.
            self.template_name = "listening/_mention_rows.html"
            fresh = list(mentions.filter(id__gt=int(after)).order_by("id")[:PAGE_SIZE])
            return self.render(mentions=fresh[::-1])
        before = request.GET.get("before")
        if before and before.isdigit():  # keyset pagination to older rows
            mentions = mentions.filter(id__lt=int(before))
        rows = list(mentions[:PAGE_SIZE])
        return self.render(
            mentions=rows, queries=ListeningQuery.objects.filter(tenant_id=self.tenant.pk),
            newest_id=rows[0].pk if rows else 0, older=rows[-1].pk if len(rows) == PAGE_SIZE else None,
            total=self.get_queryset().count(), selected_query=query_id or "", selected_platform=platform or "",
            platform_choices=Platform.choices,
        )


class QueryListView(TenantView):
    required_action = Action.LISTENING_VIEW
    template_name = "listening/queries.html"
    model = ListeningQuery

    def get(self, request):
        from django.db.models import Count

        queries = self.get_queryset().annotate(mention_count=Count("mentionmatch"))
        return self.render(queries=queries, can_manage=self.can(Action.LISTENING_MANAGE))


class QueryEditView(TenantView):
    required_action = Action.LISTENING_MANAGE
    template_name = "listening/query_form.html"

    def get(self, request, query_id: int | None = None):
        query = access_query(self.tenant.pk, query_id) if query_id else None
        initial = {"is_active": True}
        if query:
            initial = {"name": query.name, "kind": query.kind, "expression": query.expression,
                       "languages": query.languages, "platforms": query.platforms, "is_active": query.is_active}
        return self.render(form=QueryForm(initial=initial), query=query, preview=None)

    def post(self, request, query_id: int | None = None):
        query = access_query(self.tenant.pk, query_id) if query_id else None
        form = QueryForm(request.POST)
        preview = None
        if "preview" in request.POST:  # only the expression matters for a preview
            form.is_valid()
            preview = self._preview(form, request.POST.get("expression", ""))
            return self.render(status=200 if preview is not None else 400, form=form, query=query, preview=preview)
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.query_save(self.tenant.pk, actor=request.user, query_id=query_id, name=data["name"],
                                   kind=data["kind"], expression=data["expression"], languages=data["languages"],
                                   platforms=data["platforms"], is_active=data["is_active"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Listening query saved."))
                return redirect("listening-queries", tenant_slug=self.tenant.slug)
        return self.render(status=400, form=form, query=query, preview=preview)

    def _preview(self, form, expression: str):
        """Test the query against the last 500 mentions before saving it."""
        from .query import Query, matches_text

        try:
            parsed = Query.from_dict(actions.compile_expression(expression))
        except ValidationError as exc:
            apply_errors(form, exc)
            return None
        recent = list(Mention.objects.filter(tenant_id=self.tenant.pk).select_related("author").order_by("-id")[:500])
        hits = [m for m in recent if matches_text(parsed, m.text)]
        return {"checked": len(recent), "hits": hits[:20], "hit_count": len(hits)}


class QueryDeleteView(TenantView):
    required_action = Action.LISTENING_MANAGE

    def post(self, request, query_id: int):
        actions.query_delete(self.tenant.pk, actor=request.user, query_id=query_id)
        messages.success(request, _("Listening query deleted."))
        return redirect("listening-queries", tenant_slug=self.tenant.slug)


class ChannelHealthView(TenantView):
    required_action = Action.LISTENING_VIEW
    template_name = "listening/channels.html"
    model = ConnectedAccount

    def get(self, request):
        return self.render(accounts=self.get_queryset(), can_manage=self.can(Action.LISTENING_MANAGE), now=timezone.now())


class AccountEditView(TenantView):
    required_action = Action.LISTENING_MANAGE
    template_name = "listening/account_form.html"

    def get(self, request, account_id: int | None = None):
        account = access_account(self.tenant.pk, account_id) if account_id else None
        initial = {"is_own": True, "is_active": True}
        if account:
            initial = {"platform": account.platform, "name": account.name, "external_id": account.external_id,
                       "handle": account.handle, "base_url": account.base_url, "is_own": account.is_own,
                       "is_active": account.is_active}
        return self.render(form=AccountForm(initial=initial), account=account)

    def post(self, request, account_id: int | None = None):
        account = access_account(self.tenant.pk, account_id) if account_id else None
        form = AccountForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.account_save(self.tenant.pk, actor=request.user, account_id=account_id, platform=data["platform"],
                                     name=data["name"], external_id=data["external_id"], handle=data["handle"],
                                     base_url=data["base_url"], credentials=data["credentials"], is_own=data["is_own"],
                                     is_active=data["is_active"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Account saved."))
                return redirect("channel-health", tenant_slug=self.tenant.slug)
        return self.render(status=400, form=form, account=account)


class AccountDeleteView(TenantView):
    required_action = Action.LISTENING_MANAGE

    def post(self, request, account_id: int):
        actions.account_delete(self.tenant.pk, actor=request.user, account_id=account_id)
        messages.success(request, _("Account deleted."))
        return redirect("channel-health", tenant_slug=self.tenant.slug)


class AccountPollView(TenantView):
    """Poll now: enqueue every stream of the account that is not already in flight."""

    required_action = Action.LISTENING_MANAGE

    def post(self, request, account_id: int):
        from .tasks import enqueue_polls

        account = access_account(self.tenant.pk, account_id)
        sent = enqueue_polls(account, list(ListeningQuery.objects.filter(tenant_id=self.tenant.pk, is_active=True)))
        messages.success(request, ngettext("%(n)s poll queued.", "%(n)s polls queued.", sent) % {"n": sent})
        return redirect("channel-health", tenant_slug=self.tenant.slug)


class QuarantineListView(TenantView):
    required_action = Action.LISTENING_VIEW
    template_name = "listening/quarantine.html"
    model = QuarantinedPayload

    def get(self, request):
        page = Paginator(self.get_queryset().select_related("account"), 50).get_page(request.GET.get("page"))
        return self.render(page=page, can_manage=self.can(Action.LISTENING_MANAGE))


class QuarantineReplayView(TenantView):
    required_action = Action.LISTENING_MANAGE

    def post(self, request, item_id: int):
        item = actions.quarantine_replay(self.tenant.pk, actor=request.user, item_id=item_id)
        if item.replayed_at:
            messages.success(request, _("Record replayed and stored."))
        else:
            messages.error(request, _("Still cannot be parsed: %(error)s") % {"error": item.replay_error})
        return redirect("quarantine", tenant_slug=self.tenant.slug)


class NotificationListView(TenantView):
    required_action = Action.TENANT_VIEW
    template_name = "listening/notifications.html"
    model = Notification

    def get(self, request):
        items = list(self.get_queryset().filter(user_id=request.user.pk)[:100])
        return self.render(notifications=items)

    def post(self, request):
        self.get_queryset().filter(user_id=request.user.pk, read_at__isnull=True).update(read_at=timezone.now())
        return redirect("notifications", tenant_slug=self.tenant.slug)
