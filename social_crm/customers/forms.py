"""Forms of the customers pages (social_crm/customers/views.py). The actions validate the
e-mails, phones and ids; these forms only shape the input."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .csv_io import COLUMNS
from .models import Tier


def lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class LinesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})

    def to_python(self, value):
        return lines(super().to_python(value))

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value


class CustomerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    emails = LinesField(label=_("E-mails"), required=False, help_text=_("One per line."))
    phones = LinesField(label=_("Phones"), required=False,
                        help_text=_("One per line, with the country code (+33 6 12 34 56 78); a number starting "
                                    "with 0 is read as French."))
    handles = LinesField(label=_("Handles and profile URLs"), required=False,
                         help_text=_("One per line: @name or https://… Used to suggest links with social accounts."))
    external_crm_id = forms.CharField(label=_("External CRM id"), max_length=100, required=False)
    tier = forms.ChoiceField(label=_("Tier"), choices=Tier.choices, initial=Tier.STANDARD)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    consent_marketing = forms.BooleanField(label=_("Agrees to marketing messages"), required=False)
    consent_contact = forms.BooleanField(label=_("Agrees to be contacted"), required=False)


class MergeForm(forms.Form):
    merged = forms.IntegerField(label=_("Customer number to merge into this one"), min_value=1)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"),
                           help_text=format_lazy(_("First line: the column names (at least name). Columns: "
                                                   "{columns}. Several e-mails or phones in a cell: separate them "
                                                   "with ;."), columns=", ".join(COLUMNS)))


class PrivacyForm(forms.Form):
    retention_days = forms.IntegerField(label=_("Retention period (days)"), min_value=0, max_value=36500,
                                        help_text=_("Mentions older than this are anonymised every hour. "
                                                    "0 keeps them forever."))


class SubjectForm(forms.Form):
    """A social handle as a GDPR subject (export or erase)."""

    platform = forms.CharField(label=_("Platform"), max_length=20)
    handle = forms.CharField(label=_("Handle"), max_length=200)
