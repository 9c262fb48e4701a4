"""Forms of the reply box, the approval step and the canned answers (validation of shapes only;
the rules live in inbox/replies.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("Reply"), max_length=8000,
                           widget=forms.Textarea(attrs={"rows": 4, "id": "reply-box", "data-testid": "reply-box"}))
    canned_answer = forms.IntegerField(required=False, widget=forms.HiddenInput(attrs={"id": "reply-canned"}))
    language = forms.ChoiceField(required=False, choices=[("", ""), ("fr", "fr"), ("en", "en")],
                                 widget=forms.HiddenInput(attrs={"id": "reply-language"}))


class ApproveForm(forms.Form):
    text = forms.CharField(label=_("Text to publish"), max_length=8000, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Why"), max_length=2000)


class CannedAnswerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    shortcut = forms.SlugField(label=_("Shortcut"), max_length=50, required=False)
    body_en = forms.CharField(label=_("Text in English"), required=False, max_length=8000,
                              widget=forms.Textarea(attrs={"rows": 4}))
    body_fr = forms.CharField(label=_("Text in French"), required=False, max_length=8000,
                              widget=forms.Textarea(attrs={"rows": 4}))
