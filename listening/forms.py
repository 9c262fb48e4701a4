from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Platform, QueryKind

LANGUAGE_CHOICES = [("fr", _("French")), ("en", _("English"))]
POLLED_PLATFORMS = [(p.value, p.label) for p in Platform if p not in (Platform.API,)]


class QueryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=QueryKind.choices)
    expression = forms.CharField(
        label=_("Keywords"), widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_('AND, OR, NOT, "exact phrases", (groups), -exclusions, #hashtags, @handles, prefix*. '
                    'Example: (SNCF OR #SNCF) AND (retard OR annul*) -"bon voyage"'),
    )
    languages = forms.MultipleChoiceField(label=_("Languages (none = all)"), choices=LANGUAGE_CHOICES, required=False,
                                          widget=forms.CheckboxSelectMultiple)
    platforms = forms.MultipleChoiceField(label=_("Platforms (none = all)"), choices=POLLED_PLATFORMS + [(Platform.API.value, Platform.API.label)],
                                          required=False, widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class AccountForm(forms.Form):
    """Credentials are write-only: leave them empty to keep the stored ones."""

    platform = forms.ChoiceField(label=_("Platform"), choices=POLLED_PLATFORMS)
    name = forms.CharField(label=_("Name"), max_length=120)
    external_id = forms.CharField(label=_("Account id on the platform"), max_length=200, required=False,
                                  help_text=_("X user id, Facebook Page id, replay file path…"))
    handle = forms.CharField(label=_("Handle"), max_length=200, required=False)
    base_url = forms.URLField(label=_("Server or feed URL"), max_length=500, required=False, assume_scheme="https",
                              help_text=_("Mastodon instance, RSS/Atom feed URL."))
    credentials = forms.JSONField(
        label=_("Credentials (JSON)"), required=False, widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_('X: {"bearer_token": "…"}; Facebook: {"page_access_token": "…"}; Mastodon: {"access_token": "…"}; '
                    'Bluesky: {"handle": "…", "app_password": "…"}; replay: {"rate": 2}. Stored encrypted; never shown again.'),
    )
    is_own = forms.BooleanField(label=_("This is the brand's own account"), required=False, initial=True)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean_credentials(self):
        value = self.cleaned_data.get("credentials")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Credentials must be a JSON object."))
        return value
