"""The poll task end to end in-process, against the X connector with recorded HTTP answers:
storing with the cursor, rate limits, expired tokens, transient errors, the channel health
states and notifying the tenant admins once per outage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.core import mail
from django.utils import timezone as dj_timezone

from listening.connectors.x import connector as x_connector
from listening.models import AccountStatus, ConnectedAccount, Mention, PollCursor
from listening.tasks import MAX_TRANSIENT_RETRIES, poll_stream
from social_crm.tenancy.models import Notification
from social_crm.tenancy.scope import tenant_context

from .test_connector_x import JUNE_2020, RecordedX, answer, observed_error, recorded_headers, sns


@pytest.fixture
def x_answers(monkeypatch):
    """Every XConnector built during the test sends its HTTP to this recorded transport."""
    transport = RecordedX()
    transport.clock = lambda: JUNE_2020  # the recordings' time, so their ids are "recent"
    original = x_connector.XConnector.__init__

    def init(self, account, **kwargs):
        original(self, account, clock=lambda: transport.clock())
        self.session.mount("https://", transport)

    monkeypatch.setattr(x_connector.XConnector, "__init__", init)
    return transport


def reset_account(tid, account_pk):
    """The world leaves the account broken (to have a notification row); start from OK."""
    with tenant_context(tid):
        ConnectedAccount.objects.filter(pk=account_pk).update(status=AccountStatus.OK, notified_status="", last_error="")
        Notification.objects.filter(tenant_id=tid).delete()


def account(tid, pk):
    with tenant_context(tid):
        return ConnectedAccount.objects.get(pk=pk)


def test_a_poll_stores_the_page_with_its_cursor_and_marks_the_channel_ok(world, x_answers):
    tid, acc, query = world.a.tenant.pk, world.a.account, world.a.query
    reset_account(tid, acc.pk)
    x_answers.answers.append(answer(sns("apis/searches/search_tweets_query.json")))
    result = poll_stream(tid, acc.pk, query.pk, "search")
    assert result["inserted"] > 0
    with tenant_context(tid):
        cursor = PollCursor.objects.get(tenant_id=tid, account_id=acc.pk, query_id=query.pk, stream="search")
        newest = max(Mention.objects.filter(tenant_id=tid, platform="x").exclude(external_id__in=["1001", "1002"])
                     .values_list("version_id", flat=True), key=lambda v: (len(v), v))
    assert cursor.state["since_id"] == newest
    assert account(tid, acc.pk).status == AccountStatus.OK and account(tid, acc.pk).last_success_at is not None
    # The request carried the compiled listening query, without retweets.
    assert "-is:retweet" in x_answers.query()["query"] and "acme" in x_answers.query()["query"]


def test_an_expired_token_marks_needs_reconnect_and_tells_the_admins_once(world, x_answers, django_capture_on_commit_callbacks):
    tid, acc, query = world.a.tenant.pk, world.a.account, world.a.query
    reset_account(tid, acc.pk)
    body = observed_error("v2_401_search_recent")
    for _ in range(2):
        x_answers.answers.append(answer(body.get("body", body), status=401))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        poll_stream(tid, acc.pk, query.pk, "search")
        poll_stream(tid, acc.pk, query.pk, "search")  # the next poll fails the same way
    assert account(tid, acc.pk).status == AccountStatus.NEEDS_RECONNECT
    with tenant_context(tid):
        notes = list(Notification.objects.filter(tenant_id=tid, kind="channel.broken").values_list("user__email", flat=True))
    assert notes == ["admin@example.com"]  # the only admin of A, once
    assert [m.to for m in mail.outbox] == [["admin@example.com"]]
    assert "Brand on X" in mail.outbox[0].subject


def test_reconnecting_resets_the_status_and_backfills_the_gap(world, x_answers):
    from listening import actions

    tid, acc, query = world.a.tenant.pk, world.a.account, world.a.query
    last_ok = dj_timezone.now() - timedelta(hours=5)
    with tenant_context(tid):
        ConnectedAccount.objects.filter(pk=acc.pk).update(last_success_at=last_ok, status=AccountStatus.NEEDS_RECONNECT)
    actions.account_save(tid, actor=None, account_id=acc.pk, platform="x", name=acc.name, external_id=acc.external_id,
                         handle=acc.handle, credentials={"bearer_token": "new-token"})
    refreshed = account(tid, acc.pk)
    assert refreshed.status == AccountStatus.OK and refreshed.backfill_since == last_ok
    with tenant_context(tid):
        PollCursor.objects.filter(tenant_id=tid).delete()
    x_answers.clock = dj_timezone.now  # the outage was 5 hours ago, inside X's 7-day window
    x_answers.answers.append(answer(sns("apis/searches/search_tweets_query.json")))
    poll_stream(tid, acc.pk, query.pk, "search")
    sent = x_answers.query()
    assert datetime.fromisoformat(sent["start_time"].replace("Z", "+00:00")) <= last_ok  # the gap is asked for
    assert x_answers.sent[-1].headers["Authorization"] == "Bearer new-token"
    assert account(tid, acc.pk).backfill_since is None  # caught up: the backfill is done


def test_a_rate_limit_waits_for_the_reset_and_never_marks_the_channel_broken(world, x_answers):
    tid, acc, query = world.a.tenant.pk, world.a.account, world.a.query
    reset_account(tid, acc.pk)
    reset = int((dj_timezone.now() + timedelta(minutes=12)).timestamp())
    x_answers.answers.append(answer(observed_error("v2_429_search_all").get("body", {}), status=429,
                                    headers=recorded_headers(x_rate_limit_remaining="0", x_rate_limit_reset=str(reset))))
    result = poll_stream(tid, acc.pk, query.pk, "search")
    limited = account(tid, acc.pk)
    assert limited.status == AccountStatus.RATE_LIMITED
    assert limited.rate_limited_until == datetime.fromtimestamp(reset, tz=timezone.utc)
    assert result["rate_limited_until"] == limited.rate_limited_until.isoformat()
    with tenant_context(tid):
        assert not Notification.objects.filter(tenant_id=tid).exists()


def test_transient_errors_retry_and_only_then_break_the_channel(world, x_answers):
    tid, acc, query = world.a.tenant.pk, world.a.account, world.a.query
    reset_account(tid, acc.pk)
    x_answers.answers += [answer({"title": "Service Unavailable"}, status=503) for _ in range(2)]
    first = poll_stream(tid, acc.pk, query.pk, "search")
    assert first["retry"] == 1 and "503" in first["error"] or "Service Unavailable" in first["error"]
    assert account(tid, acc.pk).status == AccountStatus.OK  # one failure is not an outage
    broken = poll_stream(tid, acc.pk, query.pk, "search", MAX_TRANSIENT_RETRIES)
    assert broken == {"broken": AccountStatus.ERROR}
    assert account(tid, acc.pk).status == AccountStatus.ERROR


def test_a_poll_for_another_tenants_account_id_does_nothing(world, x_answers):
    """The task takes the tenant id first; an account id of B under A's id finds nothing."""
    assert poll_stream(world.a.tenant.pk, world.b.account.pk, world.a.query.pk, "search") is None
    assert x_answers.sent == []
