from django import forms
from django.utils.translation import gettext_lazy as _

from .models import LANGUAGE_CHOICES


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    language = forms.ChoiceField(label=_("Language"), choices=[("", _("Tenant default"))] + LANGUAGE_CHOICES, required=False)
