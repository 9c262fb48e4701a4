"""SLA business-time arithmetic across weekends, holidays, DST changes and time zones; due dates
of conversations, breaches recorded once, the timer tag and the policy pages."""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.urls import reverse

from inbox import sla
from inbox.models import Conversation, ConversationEvent, SlaPolicy
from social_crm.tenancy.scope import tenant_context

from .conftest import login
from .test_inbox_routing import make_conversation

PARIS, NEW_YORK, TOKYO = (zoneinfo.ZoneInfo(z) for z in ("Europe/Paris", "America/New_York", "Asia/Tokyo"))
UTC = dt_timezone.utc
OFFICE = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
SPLIT = {d: [["09:00", "12:00"], ["14:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
ALWAYS = {d: [["00:00", "24:00"]] for d in sla.DAYS}


def add(start, minutes, hours=OFFICE, holidays=(), tz="Europe/Paris"):
    return sla.add_business_minutes(start, minutes, hours=hours, holidays=holidays, tz=tz)


def between(start, end, hours=OFFICE, holidays=(), tz="Europe/Paris"):
    return sla.business_minutes_between(start, end, hours=hours, holidays=holidays, tz=tz)


# --- Arithmetic ----------------------------------------------------------------------------------


def test_minutes_inside_one_day_and_a_lunch_break():
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
    assert add(monday, 90) == datetime(2026, 11, 23, 11, 30, tzinfo=PARIS)
    assert add(datetime(2026, 11, 23, 11, 0, tzinfo=PARIS), 120, SPLIT) == datetime(2026, 11, 23, 15, 0, tzinfo=PARIS)


def test_friday_evening_rolls_over_the_weekend():
    friday = datetime(2026, 11, 20, 17, 30, tzinfo=PARIS)
    assert add(friday, 60) == datetime(2026, 11, 23, 9, 30, tzinfo=PARIS)
    saturday = datetime(2026, 11, 21, 15, 0, tzinfo=PARIS)
    assert add(saturday, 0) == datetime(2026, 11, 23, 9, 0, tzinfo=PARIS)  # the next business moment
    assert between(friday, datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)) == 30 + 60


def test_holidays_are_skipped():
    thursday = datetime(2026, 12, 24, 17, 0, tzinfo=PARIS)
    due = add(thursday, 120, holidays=["2026-12-25"])
    assert due == datetime(2026, 12, 28, 10, 0, tzinfo=PARIS)  # not Friday 25th, nor the weekend
    assert between(thursday, due, holidays=["2026-12-25"]) == 120


def test_dst_spring_forward_in_paris_counts_real_minutes():
    # 29 March 2026: 02:00 CET becomes 03:00 CEST, the day has 23 hours.
    saturday_noon = datetime(2026, 3, 28, 12, 0, tzinfo=PARIS)
    due = add(saturday_noon, 24 * 60, ALWAYS)
    assert due == datetime(2026, 3, 29, 13, 0, tzinfo=PARIS)
    assert due.astimezone(UTC) - saturday_noon.astimezone(UTC) == timedelta(hours=24)
    night = {"sun": [["00:00", "06:00"]]}
    assert between(datetime(2026, 3, 29, 0, 0, tzinfo=PARIS), datetime(2026, 3, 29, 12, 0, tzinfo=PARIS), night) == 300


def test_dst_fall_back_in_paris_has_a_25_hour_day():
    saturday_noon = datetime(2026, 10, 24, 12, 0, tzinfo=PARIS)
    assert add(saturday_noon, 24 * 60, ALWAYS) == datetime(2026, 10, 25, 11, 0, tzinfo=PARIS)
    assert between(datetime(2026, 10, 25, 0, 0, tzinfo=PARIS), datetime(2026, 10, 26, 0, 0, tzinfo=PARIS),
                   ALWAYS) == 25 * 60


def test_new_york_hours_across_a_weekend_with_a_dst_change():
    # 8 March 2026: New York moves from EST (UTC-5) to EDT (UTC-4) on the Sunday.
    friday = datetime(2026, 3, 6, 17, 0, tzinfo=NEW_YORK)  # one business hour left on Friday
    due = add(friday, 120, tz="America/New_York")
    assert due == datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK)
    assert due.astimezone(UTC) == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    # The same instant given in UTC gives the same answer.
    assert add(friday.astimezone(UTC), 120, tz="America/New_York") == due


def test_the_policy_time_zone_decides_the_day_not_the_input_time_zone():
    # Friday 23:30 UTC is already Saturday 08:30 in Tokyo: the next business time is Monday there.
    late_friday_utc = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    due = add(late_friday_utc, 30, tz="Asia/Tokyo")
    assert due == datetime(2026, 11, 23, 9, 30, tzinfo=TOKYO)
    assert add(late_friday_utc, 30, tz="Europe/Paris") == datetime(2026, 11, 23, 9, 30, tzinfo=PARIS)


def test_hours_that_never_open_give_no_due_date():
    assert add(datetime(2026, 1, 1, tzinfo=UTC), 10, hours={}) is None
    assert between(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)) == 0


@pytest.mark.parametrize("hours", [{"mon": [["18:00", "09:00"]]}, {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
                                   {"monday": [["09:00", "18:00"]]}, {"mon": [["9h", "18h"]]}, {}])
def test_bad_business_hours_are_refused(hours):
    with pytest.raises(ValidationError) as exc:
        sla.clean_business_hours(hours)
    assert "business_hours" in exc.value.message_dict


# --- Conversations -------------------------------------------------------------------------------


def _policy(tw, **fields):
    return sla.sla_policy_save(tw.tenant.pk, actor=None, **{
        "name": "Urgent", "first_response_minutes": 15, "resolution_minutes": 120, "time_zone": "Europe/Paris",
        "business_hours": OFFICE, "priority": "urgent", **fields})


def test_apply_policy_uses_the_priority_policy_else_the_default(world):
    tw, tid = world.a, world.a.tenant.pk
    urgent = _policy(tw)
    conversation, _m = make_conversation(tw)
    start = datetime(2026, 11, 20, 17, 30, tzinfo=PARIS)  # a Friday
    with tenant_context(tid):
        Conversation.objects.filter(pk=conversation.pk).update(first_message_at=start, created_at=start)
        conversation.refresh_from_db()
        assert sla.apply_policy(conversation) == tw.sla_policy  # normal priority: the default (60 / 480)
        assert conversation.first_response_due_at == datetime(2026, 11, 23, 9, 30, tzinfo=PARIS)
        assert conversation.resolution_due_at == datetime(2026, 11, 23, 16, 30, tzinfo=PARIS)
        conversation.priority = "urgent"
        assert sla.apply_policy(conversation) == urgent
        stored = Conversation.objects.get(pk=conversation.pk)
    assert stored.sla_policy_id == urgent.pk
    assert stored.first_response_due_at == datetime(2026, 11, 20, 17, 45, tzinfo=PARIS)


def test_routing_a_priority_change_moves_the_timers(world):
    from inbox import routing

    from .test_inbox_routing import make_rule

    tw = world.a
    _policy(tw, first_response_minutes=5, business_hours=ALWAYS)
    make_rule(tw, "Urgent", [{"field": "sentiment", "op": "in", "value": ["negative"]}],
              [{"type": "priority", "value": "urgent"}])
    conversation, _m = make_conversation(tw)
    routing.route(tw.tenant.pk, [conversation.pk])
    with tenant_context(tw.tenant.pk):
        conversation.refresh_from_db()
    assert conversation.first_response_due_at == sla.sla_start(conversation) + timedelta(minutes=5)


def test_the_clock_starts_when_a_late_found_post_reached_the_inbox(world):
    tw, tid = world.a, world.a.tenant.pk
    conversation, _m = make_conversation(tw)
    posted, found = datetime(2026, 11, 16, 10, 0, tzinfo=PARIS), datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)  # Mondays
    with tenant_context(tid):
        Conversation.objects.filter(pk=conversation.pk).update(first_message_at=posted, created_at=found)
        conversation.refresh_from_db()
        sla.apply_policy(conversation)  # the world's default policy: 60 business minutes
    assert conversation.first_response_due_at == datetime(2026, 11, 23, 11, 0, tzinfo=PARIS)


def test_breaches_are_recorded_once_and_counted(world):
    tw, tid = world.a, world.a.tenant.pk
    late, _m = make_conversation(tw)
    answered, _m = make_conversation(tw)
    due = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    with tenant_context(tid):
        Conversation.objects.filter(pk__in=[late.pk, answered.pk]).update(
            first_response_due_at=due, resolution_due_at=due + timedelta(hours=8))
        Conversation.objects.filter(pk=answered.pk).update(first_response_at=due - timedelta(minutes=1))
    assert sla.check_breaches(tid, now=due - timedelta(seconds=1)) == []
    recorded = sla.check_breaches(tid, now=due + timedelta(minutes=1))
    assert (late.pk, "first_response") in recorded and (answered.pk, "first_response") not in recorded
    assert sla.check_breaches(tid, now=due + timedelta(minutes=2)) == []  # once
    later = sla.check_breaches(tid, now=due + timedelta(hours=9))
    assert {(late.pk, "resolution"), (answered.pk, "resolution")} <= set(later)
    with tenant_context(tid):
        assert Conversation.objects.get(pk=late.pk).sla_breaches == ["first_response", "resolution"]
        kinds = list(ConversationEvent.objects.filter(conversation_id=late.pk, kind="sla_breach")
                     .values_list("data__target", flat=True))
        assert kinds == ["first_response", "resolution"]
        counts = sla.breach_counts(tid)
    assert counts["first_response"] >= 1 and counts["resolution"] >= 2


def test_the_timer_tag_shows_running_soon_breached_and_met(world):
    conversation, _m = make_conversation(world.a)
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    template = Template("{% load sla %}{% sla_timer c now %}")
    conversation.first_response_due_at = now + timedelta(minutes=30)
    conversation.resolution_due_at = now + timedelta(hours=5)
    html = template.render(Context({"c": conversation, "now": now}))
    assert 'data-sla-state="soon"' in html and 'data-sla-state="running"' in html and "due in 30" in html
    conversation.first_response_at = now - timedelta(minutes=5)
    conversation.resolution_due_at = now - timedelta(hours=1)
    html = template.render(Context({"c": conversation, "now": now}))
    assert 'data-sla-state="met"' in html and 'data-sla-state="breached"' in html and "overdue by 1" in html


# --- Pages and API -------------------------------------------------------------------------------


def test_the_policy_form_reads_weekday_spans_and_refuses_bad_ones(client, world):
    login(client, "admin@example.com")
    url = reverse("sla-policy-new", kwargs={"tenant_slug": "acme"})
    body = {"name": "Weekend team", "first_response_minutes": "30", "resolution_minutes": "600",
            "time_zone": "America/New_York", "hours_sat": "10:00-14:00", "hours_sun": "10:00-14:00",
            "holidays": "2026-12-25\n2027-01-01"}
    assert client.post(url, {**body, "hours_sat": "10h à 14h"}).status_code == 400
    assert client.post(url, body).status_code == 302
    with tenant_context(world.a.tenant.pk):
        policy = SlaPolicy.objects.get(tenant_id=world.a.tenant.pk, name="Weekend team")
    assert policy.business_hours["sat"] == [["10:00", "14:00"]] and policy.business_hours["mon"] == []
    assert policy.holidays == ["2026-12-25", "2027-01-01"]
    page = client.get(reverse("sla-policies", kwargs={"tenant_slug": "acme"})).content.decode()
    assert "Weekend team" in page and 'data-testid="sla-breach-counts"' in page


def test_making_a_policy_the_default_takes_it_from_the_previous_one(client, world):
    login(client, "admin@example.com")
    response = client.post(reverse("api-sla-policies-list", kwargs={"tenant_slug": "acme"}), json.dumps({
        "name": "New default", "is_default": True, "first_response_minutes": 30, "resolution_minutes": 300,
        "time_zone": "Europe/Paris", "business_hours": {"mon": [["08:00", "20:00"]]}}), content_type="application/json")
    assert response.status_code == 201, response.content
    with tenant_context(world.a.tenant.pk):
        defaults = list(SlaPolicy.objects.filter(tenant_id=world.a.tenant.pk, is_default=True).values_list("name", flat=True))
    assert defaults == ["New default"]
    bad = client.post(reverse("api-sla-policies-list", kwargs={"tenant_slug": "acme"}), json.dumps({
        "name": "Bad", "first_response_minutes": 30, "resolution_minutes": 300, "time_zone": "Mars/Olympus",
        "business_hours": {"mon": [["08:00", "20:00"]]}}), content_type="application/json")
    assert bad.status_code == 400 and "time_zone" in bad.json()
