from django import forms
from django.utils.translation import gettext_lazy as _

from .models import SUBSCRIBABLE, DeliveryStatus, EventType


class EndpointForm(forms.Form):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https",
                         help_text=_("Where we POST the events (https recommended). It must be a public address."))
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(label=_("Events"), choices=SUBSCRIBABLE, widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(label=_("Active"), required=False)


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *DeliveryStatus.choices])
    type = forms.ChoiceField(label=_("Event"), required=False, choices=[("", _("Any event")), *EventType.choices])
