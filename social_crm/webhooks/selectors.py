"""Reads shared by the delivery log page and the API."""

from __future__ import annotations


def filter_deliveries(deliveries, *, status: str = "", type: str = "", endpoint_id: int | None = None,  # noqa: A002
                      event_id=None):
    if status:
        deliveries = deliveries.filter(status=status)
    if type:
        deliveries = deliveries.filter(event__type=type)
    if endpoint_id:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    if event_id:
        deliveries = deliveries.filter(event__event_id=event_id)
    return deliveries
