from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AlertStatus, Sensitivity


class CrisisSettingsForm(forms.Form):
    sensitivity = forms.ChoiceField(label=_("Sensitivity"), choices=Sensitivity.choices,
                                    help_text=_("Medium raises no alert on a year of ordinary weekly rhythms; "
                                                "high also catches smaller spikes, with an occasional false alarm."))
    recipients = forms.MultipleChoiceField(label=_("Recipients"), required=False, widget=forms.CheckboxSelectMultiple,
                                           help_text=_("None chosen: the tenant admins."))
    notify_in_app = forms.BooleanField(label=_("In-app notification"), required=False)
    notify_email = forms.BooleanField(label=_("E-mail (in each recipient's language)"), required=False)
    notify_webhook = forms.BooleanField(label=_("Outgoing webhook event crisis.detected"), required=False)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Choices are the tenant's members only: another tenant's user id is not a valid choice.
        self.fields["recipients"].choices = [(str(m.user_id), f"{m.user.full_name or m.user.email} ({m.get_role_display()})")
                                             for m in members]


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any status")), *AlertStatus.choices])
    query = forms.TypedChoiceField(label=_("Listening query"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, queries=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["query"].choices = [("", _("Any query")), *((q.pk, q.name) for q in queries)]
