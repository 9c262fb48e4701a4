from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from .forms import ProfileForm


@login_required
def profile(request):
    user = request.user
    form = ProfileForm(request.POST or None, initial={"full_name": user.full_name, "language": user.language})
    if request.method == "POST":
        if form.is_valid():
            user.full_name = form.cleaned_data["full_name"]
            user.language = form.cleaned_data["language"]
            user.save(update_fields=["full_name", "language"])
            if user.language:
                translation.activate(user.language)
            messages.success(request, _("Profile saved."))
            return redirect("profile")
        return render(request, "accounts/profile.html", {"form": form}, status=400)
    return render(request, "accounts/profile.html", {"form": form})


def set_language(request):
    """Django's set_language, and for a signed-in user the choice is also saved on their profile
    (their profile language wins over the cookie, so it must follow the switcher)."""
    from django.views.i18n import set_language as django_set_language

    response = django_set_language(request)
    language = request.POST.get("language")
    if request.method == "POST" and request.user.is_authenticated and language in {"en", "fr"}:
        if request.user.language != language:
            request.user.language = language
            request.user.save(update_fields=["language"])
    return response
