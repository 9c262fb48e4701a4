"""The operator commands: create_tenant, create_user, seed_demo, permissions_table."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from social_crm.tenancy.models import Department, DepartmentHead, Membership, Tenant
from social_crm.tenancy.permissions import Action, Role, markdown_table
from social_crm.tenancy.scope import dangerously_cross_tenant, tenant_context

from .conftest import PASSWORD

User = get_user_model()


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def memberships_of(email: str) -> dict[str, str]:
    """tenant slug -> role of the user with that e-mail, across tenants."""
    with dangerously_cross_tenant("test: a user's memberships in every tenant"):
        return dict(Membership.objects.filter(user__email=email).values_list("tenant__slug", "role"))


# --- create_tenant ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_tenant_creates_the_tenant():
    out = run("create_tenant", "initech", name="Initech", language="en", timezone="America/New_York")

    tenant = Tenant.objects.get(slug="initech")
    assert (tenant.name, tenant.default_language, tenant.timezone, tenant.is_active) == (
        "Initech", "en", "America/New_York", True)
    assert f"Created tenant initech (id {tenant.pk})" in out


@pytest.mark.django_db
def test_create_tenant_with_a_taken_slug_is_a_command_error_and_changes_nothing():
    run("create_tenant", "initech", name="Initech")
    with pytest.raises(CommandError, match=r"^slug: Tenant with this Slug already exists\.$"):
        run("create_tenant", "initech", name="Another Initech")
    assert list(Tenant.objects.filter(slug="initech").values_list("name", flat=True)) == ["Initech"]


@pytest.mark.django_db
@pytest.mark.parametrize(("slug", "message"), [
    ("Not A Slug!", r"slug: .*lower-case letters, digits and hyphens"),
    ("acme-", r"slug: Use 1 to 50 lower-case letters"),
    ("admin", r"slug: admin is reserved\."),
])
def test_create_tenant_with_an_invalid_slug_is_a_command_error_naming_the_slug(slug, message):
    with pytest.raises(CommandError, match=message):
        run("create_tenant", slug, name="Bad")
    assert not Tenant.objects.filter(name="Bad").exists()


@pytest.mark.django_db
def test_create_tenant_with_an_unknown_time_zone_is_a_command_error():
    with pytest.raises(CommandError, match=r"timezone: Mars/Olympus is not a known time zone"):
        run("create_tenant", "initech", name="Initech", timezone="Mars/Olympus")
    assert not Tenant.objects.filter(slug="initech").exists()


# --- create_user --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_user_creates_the_user_and_the_membership_with_the_role(world):
    out = run("create_user", "New.Person@Example.com", tenant="acme", role=Role.COMMUNITY_MANAGER,
              name="New Person", password=PASSWORD, language="fr")

    user = User.objects.get(email="new.person@example.com")
    assert (user.full_name, user.language, user.check_password(PASSWORD)) == ("New Person", "fr", True)
    assert memberships_of(user.email) == {"acme": Role.COMMUNITY_MANAGER}
    assert "Created user new.person@example.com." in out
    assert "new.person@example.com is Community manager in acme." in out


@pytest.mark.django_db
def test_create_user_with_the_same_email_in_a_second_tenant_reuses_the_user_with_another_role(world):
    run("create_user", "new@example.com", tenant="acme", role=Role.MARKETER, password=PASSWORD)
    users_before = User.objects.count()

    out = run("create_user", "NEW@example.com", tenant="globex", role=Role.ADMIN)

    assert User.objects.count() == users_before
    assert "Created user" not in out
    assert memberships_of("new@example.com") == {"acme": Role.MARKETER, "globex": Role.ADMIN}
    assert User.objects.get(email="new@example.com").check_password(PASSWORD), "the password was changed"


@pytest.mark.django_db
def test_create_user_again_in_the_same_tenant_keeps_the_membership_and_says_its_role(world):
    run("create_user", "new@example.com", tenant="acme", role=Role.MARKETER, password=PASSWORD)
    out = run("create_user", "new@example.com", tenant="acme", role=Role.ADMIN)

    assert memberships_of("new@example.com") == {"acme": Role.MARKETER}
    assert "new@example.com is Marketer in acme." in out


@pytest.mark.django_db
def test_create_user_makes_a_department_head_of_the_named_department_of_that_tenant_only(world):
    run("create_user", "lead@example.com", tenant="globex", role=Role.DEPARTMENT_HEAD, password=PASSWORD,
        department=["legal"])

    b = world.b.tenant.pk
    with tenant_context(b):
        heads = list(DepartmentHead.objects.filter(membership__user__email="lead@example.com")
                     .values_list("department_id", flat=True))
    assert heads == [world.b.departments["legal"].pk]


@pytest.mark.django_db
def test_create_user_for_an_unknown_tenant_is_a_command_error_and_creates_no_user(world):
    with pytest.raises(CommandError, match=r"^No tenant with slug 'nope'\.$"):
        run("create_user", "new@example.com", tenant="nope", role=Role.ADMIN, password=PASSWORD)
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
def test_create_user_with_an_unknown_department_is_a_command_error_and_leaves_no_user_behind(world):
    with pytest.raises(CommandError, match=r"^Unknown department\(s\) in acme: nope$"):
        run("create_user", "new@example.com", tenant="acme", role=Role.DEPARTMENT_HEAD, password=PASSWORD,
            department=["nope"])
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
def test_create_user_refuses_departments_for_a_role_that_is_not_department_head(world):
    with pytest.raises(CommandError, match="--department is only for --role department_head"):
        run("create_user", "new@example.com", tenant="acme", role=Role.MARKETER, password=PASSWORD,
            department=["legal"])
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
def test_create_user_refuses_a_weak_password(world):
    with pytest.raises(CommandError, match="too short"):
        run("create_user", "new@example.com", tenant="acme", role=Role.MARKETER, password="short")
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
def test_create_user_without_password_and_without_input_gets_an_unusable_password(world):
    run("create_user", "sso@example.com", tenant="acme", role=Role.MARKETER, interactive=False)

    user = User.objects.get(email="sso@example.com")
    assert not user.has_usable_password()
    assert memberships_of("sso@example.com") == {"acme": Role.MARKETER}


# --- seed_demo ----------------------------------------------------------------------------------


def demo_counts() -> dict[str, int]:
    with dangerously_cross_tenant("test: count the demo data of every tenant"):
        return {
            "tenants": Tenant.objects.count(),
            "users": User.objects.count(),
            "memberships": Membership.objects.count(),
            "departments": Department.objects.count(),
            "department_heads": DepartmentHead.objects.count(),
        }


@pytest.mark.django_db
def test_seed_demo_twice_is_idempotent(monkeypatch, tmp_path):
    monkeypatch.setenv("SEED_DEMO_PASSWORD", "demo-password-for-tests")
    with override_settings(BASE_DIR=tmp_path):
        first_out = run("seed_demo")
        after_first = demo_counts()
        second_out = run("seed_demo")
        after_second = demo_counts()

    assert after_first == {"tenants": 2, "users": 4, "memberships": 5, "departments": 4, "department_heads": 2}
    assert after_second == after_first
    assert second_out == first_out
    assert "admin@demo.local" in first_out and "password: demo-password-for-tests" in first_out
    assert memberships_of("admin@demo.local") == {"demo": Role.ADMIN, "demo-sister": Role.MARKETER}
    assert User.objects.get(email="head@demo.local").check_password("demo-password-for-tests")
    assert (tmp_path / "var" / "demo-logins.txt").read_text() == "password: demo-password-for-tests\n"


@pytest.mark.django_db
def test_seed_demo_without_a_password_variable_generates_one_and_reuses_it_on_the_next_run(monkeypatch, tmp_path):
    monkeypatch.delenv("SEED_DEMO_PASSWORD", raising=False)
    logins = tmp_path / "var" / "demo-logins.txt"
    with override_settings(BASE_DIR=tmp_path):
        run("seed_demo")
        password = logins.read_text().removeprefix("password: ").strip()
        second_out = run("seed_demo")

    assert len(password) >= 12
    assert f"password: {password}" in second_out
    assert logins.read_text() == f"password: {password}\n"
    assert User.objects.get(email="admin@demo.local").check_password(password)


# --- permissions_table --------------------------------------------------------------------------


def test_permissions_table_prints_a_markdown_table_of_every_action_and_role():
    out = run("permissions_table")
    lines = out.strip().splitlines()

    assert lines[0] == "| Action | " + " | ".join(str(r.label) for r in Role) + " |"
    assert lines[1] == "|---|" + "---|" * len(Role)
    assert len(lines) == 2 + len(Action)
    for line, action in zip(lines[2:], Action):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0].endswith(f"(`{action.value}`)")
        assert len(cells) == 1 + len(Role) and set(cells[1:]) <= {"yes", "-"}
    assert lines[2 + list(Action).index(Action.AUDIT_VIEW)].endswith("| yes | - | - | - |")
    assert out.strip() == markdown_table()


def test_the_permissions_table_is_english_whatever_language_is_active():
    from django.utils import translation

    with translation.override("fr"):
        assert str(Role.ADMIN.label) != "Tenant admin"  # the French catalogue is there (so this can fail)
        french_active = run("permissions_table").strip()
    with translation.override("en"):
        assert french_active == run("permissions_table").strip() == markdown_table()


def test_readme_contains_the_permissions_table_verbatim():
    readme = settings.BASE_DIR / "README.md"
    if not readme.exists():
        pytest.skip("README.md does not exist yet (it is being written; it will contain the table)")
    table = run("permissions_table").strip()
    assert table in readme.read_text(), "README.md is out of date: paste `python manage.py permissions_table` into it"


def test_seed_demo_connects_real_channels_whose_credentials_are_in_the_environment(db, tmp_path, monkeypatch):
    from listening.actions import account_credentials
    from listening.models import ConnectedAccount
    from social_crm.tenancy.models import Tenant

    monkeypatch.setattr(settings, "BASE_DIR", tmp_path)
    monkeypatch.setenv("SEED_DEMO_PASSWORD", "a demo pass phrase")
    monkeypatch.setenv("DEMO_X_BEARER_TOKEN", "real-bearer")
    monkeypatch.setenv("DEMO_MASTODON_URL", "https://mastodon.example")  # no token: not connected
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    demo = Tenant.objects.get(slug="demo")
    with tenant_context(demo.pk):
        real = list(ConnectedAccount.objects.filter(tenant_id=demo.pk, name__endswith="(from environment)"))
        assert [(a.platform, account_credentials(a)) for a in real] == [("x", {"bearer_token": "real-bearer"})]
