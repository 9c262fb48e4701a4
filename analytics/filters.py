"""The query parameters every analytics endpoint takes (the shared analytics contract): ``from``,
``to`` (ISO dates, inclusive, in ``tz``), ``tz`` (IANA, default the tenant's), ``query``
(repeatable), ``platform``, ``language``, ``topic``, ``department``. Ids are checked against the
tenant's own rows, so another tenant's id is a 400 like an unknown one."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from listening.models import ListeningQuery, Platform, Topic
from social_crm.tenancy.models import Department

MAX_DAYS = 400  # a year and a bit: the dashboards' longest range, and the raw reads' bound
DEFAULT_DAYS = 30
HOURLY_UP_TO = 3  # days: hourly points up to 3 days, daily up to ~a quarter, weekly beyond
DAILY_UP_TO = 92


@dataclass(frozen=True)
class Filters:
    start: datetime  # inclusive, aware (the first local midnight)
    end: datetime  # exclusive (the local midnight after ``to``)
    first_day: date
    last_day: date
    tz: str
    interval: str  # hour, day, week
    queries: tuple[int, ...] = ()
    platform: str = ""
    language: str = ""
    topic: int | None = None
    department: int | None = None
    limit: int = 10

    def previous(self) -> "Filters":
        """The same filters over the period of equal length just before (for trends)."""
        days = (self.last_day - self.first_day).days + 1
        first = self.first_day - timedelta(days=days)
        zone = zoneinfo.ZoneInfo(self.tz)
        return Filters(**{**self.__dict__, "first_day": first, "last_day": self.first_day - timedelta(days=1),
                          "start": datetime.combine(first, time(0), tzinfo=zone), "end": self.start})

    def as_params(self) -> dict:
        """The filters as query parameters (CSV links, the care API call of the dashboard)."""
        params = {"from": self.first_day.isoformat(), "to": self.last_day.isoformat(), "tz": self.tz}
        for name in ("platform", "language", "topic", "department"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        if self.queries:
            params["query"] = list(self.queries)
        return params


def interval_for(days: int) -> str:
    return "hour" if days <= HOURLY_UP_TO else "day" if days <= DAILY_UP_TO else "week"


class FilterSerializer(serializers.Serializer):
    to = serializers.DateField(required=False, help_text=_("Last day, inclusive, in tz (default: today)."))
    tz = serializers.CharField(required=False, help_text=_("IANA time zone (default: the tenant's)."))
    query = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=ListeningQuery.objects.none(),
                                               help_text=_("Listening query id; repeatable."))
    platform = serializers.ChoiceField(choices=Platform.choices, required=False)
    language = serializers.RegexField(r"^[a-z]{2,8}$", required=False, help_text=_("Language code, e.g. fr."))
    topic = serializers.PrimaryKeyRelatedField(required=False, queryset=Topic.objects.none())
    department = serializers.PrimaryKeyRelatedField(required=False, queryset=Department.objects.none())
    limit = serializers.IntegerField(required=False, min_value=1, max_value=50, default=10,
                                     help_text=_("Rows of the top lists."))

    def get_fields(self):
        fields = super().get_fields()
        # "from" is a Python keyword: declared here instead of in the class body.
        first_day_help = _("First day, in tz (default: 30 days before to).")
        fields["from"] = serializers.DateField(required=False, help_text=first_day_help)
        tenant = self.context.get("tenant")
        if tenant is not None:
            fields["query"].child_relation.queryset = ListeningQuery.objects.filter(tenant_id=tenant.pk)
            fields["topic"].queryset = Topic.objects.filter(tenant_id=tenant.pk)
            fields["department"].queryset = Department.objects.filter(tenant_id=tenant.pk)
        return fields

    def validate_tz(self, value):
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError(_("Unknown time zone."))
        return value

    def validate(self, attrs):
        tenant = self.context.get("tenant")
        tz = attrs.get("tz") or getattr(tenant, "timezone", "") or "Europe/Paris"
        zone = zoneinfo.ZoneInfo(tz)
        last = attrs.get("to") or timezone.now().astimezone(zone).date()
        first = attrs.get("from") or last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            raise serializers.ValidationError({"from": [_("The first day is after the last day.")]})
        days = (last - first).days + 1
        if days > MAX_DAYS:
            raise serializers.ValidationError({"to": [_("The range is longer than %(days)s days.") % {"days": MAX_DAYS}]})
        return Filters(
            start=datetime.combine(first, time(0), tzinfo=zone),
            end=datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
            first_day=first, last_day=last, tz=tz, interval=interval_for(days),
            queries=tuple(sorted(q.pk for q in attrs.get("query") or ())),
            platform=attrs.get("platform") or "", language=attrs.get("language") or "",
            topic=attrs["topic"].pk if attrs.get("topic") else None,
            department=attrs["department"].pk if attrs.get("department") else None,
            limit=attrs.get("limit") or 10)
