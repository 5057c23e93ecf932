"""Staff 2-step login (issue 5, section 4): with ADMIN_REQUIRES_OTP on, staff
log in with a password and a TOTP code. urls.py reads the setting at import,
so the login form is tested directly here, and the whole production site
(admin at ADMIN_PATH, the site's login page) in a fresh interpreter."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django_otp.forms import OTPAuthenticationForm
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory
from tests.ops.support import ROOT, production_env, python_json

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def otp_required(settings):
    settings.ADMIN_REQUIRES_OTP = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def token_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead)
    return f"{value:0{device.digits}d}"


def wrong_token(device: TOTPDevice) -> str:
    """A well-formed code outside the window the device accepts."""
    accepted = {token_for(device, drift) for drift in range(-3, 4)}
    return next(code for code in ("000000", "123456", "999999", "314159") if code not in accepted)


@pytest.fixture
def staff():
    return UserFactory(username="otp-staff", is_staff=True)


@pytest.fixture
def device(staff) -> TOTPDevice:
    return TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)


def login_form(**data: str) -> OTPAuthenticationForm:
    request = RequestFactory().post("/accounts/login/")
    return OTPAuthenticationForm(
        request, data={"username": "otp-staff", "password": PASSWORD, **data}
    )


def error_codes(form: OTPAuthenticationForm) -> set[str]:
    return {error.code for error in form.errors.as_data().get("__all__", [])}


def test_a_correct_password_without_a_code_is_refused(staff, device):
    form = login_form()
    assert not form.is_valid()
    assert error_codes(form) == {"token_required"}
    # The second step now offers the staff member's devices.
    assert (device.persistent_id, "phone") in form.fields["otp_device"].widget.choices


def test_a_correct_password_with_a_wrong_code_is_refused(staff, device):
    form = login_form(otp_device=device.persistent_id, otp_token=wrong_token(device))
    assert not form.is_valid()
    assert error_codes(form) == {"invalid_token"}


def test_a_code_without_a_device_is_refused(staff, device):
    form = login_form(otp_token=token_for(device))
    assert not form.is_valid()
    assert error_codes(form) == {"device_required"}


def test_a_correct_password_and_a_valid_code_log_in(staff, device):
    form = login_form(otp_device=device.persistent_id, otp_token=token_for(device))
    assert form.is_valid(), form.errors
    user = form.get_user()
    assert user == staff
    assert user.otp_device == device


def test_a_valid_code_with_a_wrong_password_is_refused(staff, device):
    form = login_form(
        password="not the password", otp_device=device.persistent_id, otp_token=token_for(device)
    )
    assert not form.is_valid()
    assert form.get_user() is None


def test_a_code_is_accepted_once(staff, device):
    code = token_for(device)
    assert login_form(otp_device=device.persistent_id, otp_token=code).is_valid()
    replay = login_form(otp_device=device.persistent_id, otp_token=code)
    assert not replay.is_valid()
    assert error_codes(replay) == {"invalid_token"}


def test_another_staff_members_device_does_not_count(staff, device):
    UserFactory(username="other-staff", is_staff=True)
    form = OTPAuthenticationForm(
        RequestFactory().post("/accounts/login/"),
        data={
            "username": "other-staff",
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": token_for(device),
        },
    )
    assert not form.is_valid()
    assert error_codes(form) == {"device_required"}


PRODUCTION_LOGIN = """
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # before first use
User = get_user_model()
PASSWORD = "correct horse battery"


def code(device):
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def staff_with_device(username):
    user = User.objects.create_superuser(username, f"{username}@example.org", PASSWORD)
    return user, TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def client():
    return Client(HTTP_HOST="petitio.example.org", headers={"X-Forwarded-Proto": "https"})


found = {}
admin_user, admin_device = staff_with_device("admin-staff")
browser = client()
found["old_admin_path"] = browser.get("/admin/").status_code
anonymous = browser.get("/staff-only/")
found["admin_anonymous"] = [anonymous.status_code, anonymous.get("Location", "")]
browser.force_login(admin_user)  # a password-only session
found["admin_password_only"] = browser.get("/staff-only/").status_code
browser.logout()
credentials = {"username": "admin-staff", "password": PASSWORD}
found["admin_login_without_code"] = browser.post("/staff-only/login/", credentials).status_code
logged_in = browser.post(
    "/staff-only/login/",
    {**credentials, "otp_device": admin_device.persistent_id, "otp_token": code(admin_device),
     "next": "/staff-only/"},
)
found["admin_login_with_code"] = [logged_in.status_code, logged_in.get("Location", "")]
found["admin_after_2_step"] = browser.get("/staff-only/").status_code

site_user, site_device = staff_with_device("site-staff")
site = client()
credentials = {"username": "site-staff", "password": PASSWORD}
refused = site.post("/accounts/login/", credentials)
asks_for_code = 'name="otp_token"' in refused.content.decode()
found["site_login_without_code"] = [refused.status_code, asks_for_code]
accepted = site.post(
    "/accounts/login/",
    {**credentials, "otp_device": site_device.persistent_id, "otp_token": code(site_device)},
)
found["site_login_with_code"] = accepted.status_code
print(json.dumps(found))
"""


def test_production_admin_and_login_page_require_the_second_step(production_home):
    env = production_env(production_home(), DATABASE_URL=None, ADMIN_PATH="staff-only/")
    found = python_json(PRODUCTION_LOGIN, env, cwd=ROOT)
    assert found == {
        "old_admin_path": 404,
        "admin_anonymous": [302, "/staff-only/login/?next=/staff-only/"],
        "admin_password_only": 302,
        "admin_login_without_code": 200,
        "admin_login_with_code": [302, "/staff-only/"],
        "admin_after_2_step": 200,
        "site_login_without_code": [200, True],
        "site_login_with_code": 302,
    }
