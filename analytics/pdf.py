"""The dashboard as a PDF (reportlab): the figures of the dashboard's own selectors and care
metrics for the same filters, as tables, and the volume as a bar chart drawn by reportlab.
Labels in the active language (the view runs in the user's)."""

from __future__ import annotations

import io

from django.utils import formats
from django.utils.translation import gettext as _
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from . import care, selectors
from .filters import Filters
from .reports import _duration, _percent, _signed

_TABLE_STYLE = TableStyle([
    ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONTSIZE", (0, 0), (-1, -1), 9),
    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
    ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
])


def _table(rows: list[list]) -> Table:
    table = Table([[str(c) for c in row] for row in rows], hAlign="LEFT")
    table.setStyle(_TABLE_STYLE)
    return table


def _bars(values: list[int], labels: list[str]) -> Drawing:
    drawing = Drawing(17 * cm, 5 * cm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 20, 16 * cm - 30, 5 * cm - 30
    chart.data = [values or [0]]
    chart.categoryAxis.categoryNames = labels or [""]
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#0d6efd")
    drawing.add(chart)
    return drawing


def care_filters(f: Filters) -> care.CareFilters:
    return care.CareFilters(department_id=f.department, platform=f.platform or None, language=f.language or None,
                            query_ids=f.queries, topic_id=f.topic)


def dashboard_pdf(tenant, f: Filters) -> bytes:
    tid = tenant.pk
    volume = selectors.volume(tid, f)
    sentiment = selectors.net_sentiment(tid, f)
    reach = selectors.reach(tid, f)
    sov = selectors.share_of_voice(tid, f)
    topics = selectors.top_topics(tid, f)
    terms = selectors.top_terms(tid, f)
    authors = selectors.top_authors(tid, f)
    care_summary = care.care_summary(tid, start=f.first_day, end=f.last_day, tz=f.tz, filters=care_filters(f))

    styles = getSampleStyleSheet()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=f"{tenant.name} · {_('Analytics')}", author=tenant.name,
                            leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm, bottomMargin=2 * cm)
    period = f"{formats.date_format(f.first_day, 'DATE_FORMAT')} – {formats.date_format(f.last_day, 'DATE_FORMAT')}"
    story = [Paragraph(escape(f"{tenant.name} · {_('Analytics')}"), styles["Title"]),
             Paragraph(escape(f"{period} ({f.tz})"), styles["Normal"]), Spacer(1, 0.4 * cm)]

    def section(title):
        story.extend([Spacer(1, 0.3 * cm), Paragraph(escape(title), styles["Heading2"])])

    section(_("Summary"))
    story.append(_table([
        [_("Figure"), _("Value")],
        [_("Mentions"), formats.number_format(volume["total"])],
        [_("Net sentiment"), _signed(sentiment["net_sentiment"])],
        [_("previous period"), _signed(sentiment["previous_net_sentiment"])],
        [_("Reach"), formats.number_format(reach["reach"])],
        [_("Engagement rate"), _percent(reach["engagement_rate"])],
        [_("Own brand's share"), _percent(sov["brand_share"])],
    ]))
    section(_("Volume"))
    story.append(_bars([p["total"] for p in volume["points"]], [p["t"][5:10] if f.interval != "hour" else p["t"][11:13]
                                                               for p in volume["points"]]))
    section(_("Share of voice"))
    story.append(_table([[_("Listening query"), _("Mentions"), _("Share")]]
                        + [[r["name"], r["mentions"], _percent(r["share"])] for r in sov["rows"]]))
    if sov["rows"]:
        story.append(_bars([r["mentions"] for r in sov["rows"]], [r["name"][:12] for r in sov["rows"]]))
    section(_("Top topics"))
    story.append(_table([[_("Topic"), _("Mentions"), _("Net sentiment")]]
                        + [[r["name"], r["mentions"], _signed(r["net_sentiment"])] for r in topics["rows"]]))
    section(_("Top terms"))
    story.append(_table([[_("Term"), _("Mentions"), _("Net sentiment")]]
                        + [[r["term"], r["mentions"], _signed(r["net_sentiment"])] for r in terms["rows"]]))
    section(_("Top authors"))
    story.append(_table([[_("Author"), _("Mentions"), _("Followers")]]
                        + [[r["handle"] or r["name"], r["mentions"], formats.number_format(r["followers"])]
                           for r in authors["by_volume"]]))
    section(_("Care"))
    story.append(_table([
        [_("Figure"), _("Value")],
        [_("First response (median / p90)"), f"{_duration(care_summary['first_response']['median_seconds'])} / "
                                             f"{_duration(care_summary['first_response']['p90_seconds'])}"],
        [_("Resolution (median / p90)"), f"{_duration(care_summary['resolution']['median_seconds'])} / "
                                         f"{_duration(care_summary['resolution']['p90_seconds'])}"],
        [_("SLA breaches (first response / resolution)"),
         f"{care_summary['sla_breaches']['first_response']} / {care_summary['sla_breaches']['resolution']}"],
        [_("Backlog"), formats.number_format(care_summary["backlog"])],
    ]))
    doc.build(story)
    return out.getvalue()
