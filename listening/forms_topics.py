"""Forms of the topic and entity-term pages (listening/views_topics.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import EntityKind
from .nlp.topic_actions import PREVIEW_SIZES

KEYWORDS_HELP = _(
    'One per line. A word also matches its other forms (livraison: livraisons; deliver: delivered); '
    '"a phrase" in quotes; prefix* for any word starting with it; #hashtag; -word leaves out the posts '
    'that contain it. Case and accents are ignored. French and English in the same topic is fine.')


class MentionIdsField(forms.Field):
    """Mention ids posted as repeated values (checkboxes); the action checks they are the tenant's."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        try:
            return sorted({int(v) for v in value})
        except (TypeError, ValueError):
            raise forms.ValidationError(_("Mention ids must be whole numbers.")) from None


def lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class TopicForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    keywords = forms.CharField(label=_("Keywords"), required=False, help_text=KEYWORDS_HELP,
                               widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}))
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    example_mention_ids = MentionIdsField(label=_("Example mentions"), required=False)
    last_n = forms.TypedChoiceField(label=_("Test against the last"), coerce=int, required=False, initial=200,
                                    choices=[(n, _("%(n)s mentions") % {"n": n}) for n in PREVIEW_SIZES],
                                    empty_value=200)

    def clean_keywords(self):
        return lines(self.cleaned_data.get("keywords", ""))


class EntityTermForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=EntityKind.choices)
    name = forms.CharField(label=_("Name"), max_length=120,
                           help_text=_("The name stored with each mention that names it (e.g. Maison Aurore)."))
    patterns = forms.CharField(
        label=_("Other spellings"), required=False, widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("One per line (e.g. MaisonAurore, Aurore). Case and accents are ignored; a handle also "
                    "matches with its @."))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean_patterns(self):
        return lines(self.cleaned_data.get("patterns", ""))
