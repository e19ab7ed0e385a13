import time
from io import StringIO

import pyotp
import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpers import PASSWORD, recently_authenticated
from strongbox.accounts import pending, reauth, secret_box, two_factor
from strongbox.accounts.models import AuditEvent, RecoveryCode, TwoFactorDevice

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")
VERIFY = reverse("accounts:login_verify")
PAGE = reverse("accounts:two_factor")
SETUP = reverse("accounts:two_factor_setup")
CONFIRM = reverse("accounts:two_factor_confirm")
DISABLE = reverse("accounts:two_factor_disable")
REGENERATE = reverse("accounts:recovery_codes_regenerate")
DOCUMENTS = reverse("documents:list")



def wrong_code(secret: str) -> str:
    """Return a six-digit code that no step in the accepted window produces."""
    totp, step = pyotp.TOTP(secret), two_factor.totp_step()
    window = {totp.generate_otp(s) for s in range(step - 2, step + 3)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in window)


def stored_secret(user) -> str:
    return two_factor.device_secret(TwoFactorDevice.objects.get(user=user))


def kinds() -> list[str]:
    return list(AuditEvent.objects.values_list("kind", flat=True))


class TwoFactorUser:
    def __init__(self, user, secret: str, recovery_codes: list[str]):
        self.user, self.secret, self.recovery_codes = user, secret, recovery_codes

    @property
    def code(self) -> str:
        return pyotp.TOTP(self.secret).now()


@pytest.fixture
def alice_2fa(alice) -> TwoFactorUser:
    secret = two_factor.device_secret(two_factor.two_factor_begin_setup(user=alice))
    codes = two_factor.two_factor_confirm(user=alice, code=pyotp.TOTP(secret).now())
    assert codes is not None
    # As if confirmed a step earlier: the tests' first code, of this step, has not been used yet.
    TwoFactorDevice.objects.filter(user=alice).update(last_used_step=F("last_used_step") - 1)
    alice.refresh_from_db()
    return TwoFactorUser(alice, secret, codes)


def sign_in_with_password(client: Client, next_url: str = ""):
    data = {"username": "alice", "password": PASSWORD}
    return client.post(f"{LOGIN}?next={next_url}" if next_url else LOGIN, data)


def signed_in(client: Client) -> bool:
    return client.get(DOCUMENTS).status_code == 200


# Setting up

def test_it_sets_up_an_app_and_turns_on_only_with_a_right_code(alice_client, alice):
    recently_authenticated(alice_client)
    assert b"Set up two-factor sign-in" in alice_client.get(PAGE).content
    assert alice_client.post(SETUP).status_code == 302
    page = alice_client.get(PAGE)
    device = TwoFactorDevice.objects.get(user=alice)
    secret = two_factor.device_secret(device)
    assert not device.confirmed
    assert page.context["qr"].startswith("data:image/svg+xml") and secret[:4] in page.context["secret"]

    refused = alice_client.post(CONFIRM, {"code": wrong_code(secret)})
    assert refused.status_code == 400
    assert "That code is not right" in refused.context["form"].errors["code"][0]
    assert b'class="error" id="id_code_error"' in refused.content
    assert not TwoFactorDevice.objects.get(user=alice).confirmed

    enabled = alice_client.post(CONFIRM, {"code": pyotp.TOTP(secret).now()})
    assert enabled.status_code == 302 and enabled["Location"] == PAGE
    assert TwoFactorDevice.objects.get(user=alice).confirmed
    shown = alice_client.get(PAGE)
    codes = shown.context["new_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10 and all(code in shown.content.decode() for code in codes)
    assert alice_client.get(PAGE).context["new_codes"] is None  # shown once
    stored = set(RecoveryCode.objects.filter(user=alice).values_list("code_hash", flat=True))
    assert len(stored) == 10 and not stored & set(codes)
    assert AuditEvent.Kind.TWO_FACTOR_ENABLED in kinds()


def test_the_setup_page_uses_no_inline_style_or_script(alice_client):
    recently_authenticated(alice_client)
    alice_client.post(SETUP)
    page = alice_client.get(PAGE).content.decode()
    assert 'src="data:image/svg+xml' in page
    assert " style=" not in page and "<style" not in page and "<script>" not in page


def test_it_refuses_a_code_for_a_setup_that_was_started_again(alice_client, alice):
    recently_authenticated(alice_client)
    alice_client.post(SETUP)
    first = stored_secret(alice)
    alice_client.post(SETUP)
    assert alice_client.post(CONFIRM, {"code": pyotp.TOTP(first).now()}).status_code == 400
    assert not TwoFactorDevice.objects.get(user=alice).confirmed


def test_turning_it_on_signs_out_other_sessions_but_not_this_one(alice):
    here, elsewhere = Client(), Client()
    for device in (here, elsewhere):
        device.force_login(alice)
    recently_authenticated(here).post(SETUP)
    secret = stored_secret(alice)
    assert here.post(CONFIRM, {"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert signed_in(here)
    assert not signed_in(elsewhere)


def test_it_cannot_set_up_a_second_app_while_one_is_on(alice_2fa, alice_client):
    recently_authenticated(alice_client)
    assert alice_client.post(SETUP).status_code == 302
    assert stored_secret(alice_2fa.user) == alice_2fa.secret


# Signing in

def test_a_password_alone_does_not_sign_in(alice_2fa):
    client = Client()
    response = sign_in_with_password(client)
    assert response.status_code == 302 and response["Location"] == VERIFY
    assert "_auth_user_id" not in client.session
    # The half-finished sign-in opens nothing but the code page.
    assert client.get(DOCUMENTS).status_code == 302
    assert client.get(reverse("accounts:settings")).status_code == 302
    assert client.get(VERIFY).status_code == 200
    assert AuditEvent.Kind.LOGIN not in kinds()


def test_the_right_code_signs_in_rotates_the_session_key_and_returns_to_next(alice_2fa):
    client = Client()
    sign_in_with_password(client, next_url="/accounts/activity/")
    half_signed_in = client.cookies["sessionid"].value
    response = client.post(VERIFY, {"code": alice_2fa.code})
    assert response.status_code == 302 and response["Location"] == "/accounts/activity/"
    assert client.cookies["sessionid"].value != half_signed_in
    assert signed_in(client)
    assert kinds().count(AuditEvent.Kind.LOGIN) == 1
    assert client.get(reverse("accounts:settings")).context["two_factor_on"] is True


def test_the_password_step_gives_the_session_a_new_key(alice_2fa):
    client = Client()
    planted = client.session.session_key
    sign_in_with_password(client)
    assert planted and client.cookies["sessionid"].value != planted


def test_a_wrong_code_is_refused_with_400_next_to_the_field(alice_2fa):
    client = Client()
    sign_in_with_password(client)
    response = client.post(VERIFY, {"code": wrong_code(alice_2fa.secret)})
    assert response.status_code == 400
    assert "not right" in response.context["form"].errors["code"][0]
    assert not signed_in(client)
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN_FAILED, user=alice_2fa.user).exists()


def test_a_code_is_refused_the_second_time(alice_2fa):
    first, second = Client(), Client()
    code = alice_2fa.code
    sign_in_with_password(first)
    sign_in_with_password(second)
    assert first.post(VERIFY, {"code": code}).status_code == 302
    replay = second.post(VERIFY, {"code": code})
    assert replay.status_code == 400
    assert not signed_in(second)


def test_a_pending_sign_in_expires(alice_2fa):
    client = Client()
    sign_in_with_password(client)
    session = client.session
    session[pending.PENDING]["at"] -= pending.PENDING_MAX_AGE + 1
    session.save()
    response = client.post(VERIFY, {"code": alice_2fa.code})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert not signed_in(client)
    assert client.get(VERIFY)["Location"] == LOGIN


def test_the_code_page_without_a_password_first_goes_to_sign_in(alice_2fa, anonymous_client):
    assert anonymous_client.get(VERIFY)["Location"] == LOGIN
    assert anonymous_client.post(VERIFY, {"code": alice_2fa.code})["Location"] == LOGIN
    assert not signed_in(anonymous_client)


def test_a_pending_sign_in_ends_when_the_sessions_are_ended_meanwhile(alice_2fa):
    from strongbox.accounts.services import sessions_end_all

    client = Client()
    sign_in_with_password(client)
    sessions_end_all(user=alice_2fa.user)
    assert client.post(VERIFY, {"code": alice_2fa.code})["Location"] == LOGIN
    assert not signed_in(client)


def test_a_recovery_code_signs_in_once(alice_2fa):
    code = alice_2fa.recovery_codes[0]
    client = Client()
    sign_in_with_password(client)
    assert client.post(VERIFY, {"code": f" {code.upper()} "}).status_code == 302
    assert signed_in(client)
    assert AuditEvent.Kind.RECOVERY_CODE_USED in kinds()
    assert RecoveryCode.objects.filter(user=alice_2fa.user, used_at__isnull=True).count() == 9
    client.post(reverse("accounts:logout"))
    sign_in_with_password(client)
    assert client.post(VERIFY, {"code": code}).status_code == 400
    assert not signed_in(client)


def test_codes_outside_the_window_are_refused(alice_2fa):
    totp = pyotp.TOTP(alice_2fa.secret)
    assert two_factor.two_factor_verify(user=alice_2fa.user, code=totp.at(time.time() - 90)) is None
    assert two_factor.two_factor_verify(user=alice_2fa.user, code=totp.at(time.time() + 90)) is None
    assert two_factor.two_factor_verify(user=alice_2fa.user, code="abc") is None
    assert two_factor.two_factor_verify(user=alice_2fa.user, code=totp.now()) == "totp"


def test_repeated_wrong_codes_lock_the_account_name(alice_2fa, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    client = Client()
    sign_in_with_password(client)
    bad = wrong_code(alice_2fa.secret)
    assert [client.post(VERIFY, {"code": bad}).status_code for _ in range(3)] == [400, 400, 400]
    locked = client.post(VERIFY, {"code": alice_2fa.code})  # even the right code waits out the lockout
    assert locked.status_code == 429 and b"Too many failed sign-in attempts" in locked.content
    assert not signed_in(client)
    assert sign_in_with_password(Client()).status_code == 429  # the same limit as wrong passwords
    assert AuditEvent.Kind.LOGIN_LOCKED in kinds()


# Turning it off and making new recovery codes

@pytest.mark.parametrize("url", [DISABLE, REGENERATE, SETUP])
def test_changes_need_a_recent_password(alice_2fa, alice_client, settings, url):
    response = alice_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:reauth')}?next=%2Faccounts%2F2fa%2F"
    settings.REAUTH_MAX_AGE = 60
    session = alice_client.session
    session[reauth.RECENT_AUTH] = int(time.time()) - 61
    session.save()
    assert alice_client.post(url)["Location"].startswith(reverse("accounts:reauth"))
    assert stored_secret(alice_2fa.user) == alice_2fa.secret
    assert RecoveryCode.objects.filter(user=alice_2fa.user).count() == 10


def test_the_page_needs_a_recent_password(alice_2fa, alice_client):
    assert alice_client.get(PAGE)["Location"] == f"{reverse('accounts:reauth')}?next=%2Faccounts%2F2fa%2F"


@pytest.mark.parametrize("url", [DISABLE, REGENERATE, SETUP, CONFIRM])
def test_changes_need_post_and_a_csrf_token(alice_2fa, url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice_2fa.user)
    recently_authenticated(client)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403
    assert TwoFactorDevice.objects.get(user=alice_2fa.user).confirmed
    assert not set(kinds()) & {AuditEvent.Kind.TWO_FACTOR_DISABLED, AuditEvent.Kind.RECOVERY_CODES_NEW}


def test_it_makes_new_recovery_codes_and_the_old_ones_stop_working(alice_2fa):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice_2fa.user)
    recently_authenticated(client)
    client.get(PAGE)
    response = client.post(REGENERATE, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302
    new_codes = client.get(PAGE).context["new_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(alice_2fa.recovery_codes)
    assert two_factor.two_factor_verify(user=alice_2fa.user, code=alice_2fa.recovery_codes[0]) is None
    assert two_factor.two_factor_verify(user=alice_2fa.user, code=new_codes[0]) == "recovery"
    assert AuditEvent.Kind.RECOVERY_CODES_NEW in kinds()


def test_turning_it_off_signs_out_other_sessions_and_the_password_is_enough_again(alice_2fa):
    here, elsewhere = Client(enforce_csrf_checks=True), Client()
    here.force_login(alice_2fa.user)
    elsewhere.force_login(alice_2fa.user)
    recently_authenticated(here)
    here.get(PAGE)
    response = here.post(DISABLE, {"csrfmiddlewaretoken": here.cookies["csrftoken"].value})
    assert response.status_code == 302
    assert not TwoFactorDevice.objects.filter(user=alice_2fa.user).exists()
    assert not RecoveryCode.objects.filter(user=alice_2fa.user).exists()
    assert signed_in(here) and not signed_in(elsewhere)
    assert AuditEvent.Kind.TWO_FACTOR_DISABLED in kinds()
    client = Client()
    assert sign_in_with_password(client)["Location"] == DOCUMENTS
    assert signed_in(client)


def test_an_outsider_changes_only_their_own_settings(alice_2fa, bob_client):
    recently_authenticated(bob_client)
    bob_client.post(DISABLE)
    bob_client.post(REGENERATE)
    assert TwoFactorDevice.objects.get(user=alice_2fa.user).confirmed
    assert RecoveryCode.objects.filter(user=alice_2fa.user).count() == 10
    page = bob_client.get(PAGE)
    assert page.context["device"] is None and alice_2fa.secret not in page.content.decode()


@pytest.mark.parametrize("url", [PAGE, SETUP, CONFIRM, DISABLE, REGENERATE])
def test_it_sends_anonymous_users_to_sign_in(anonymous_client, url):
    response = anonymous_client.post(url) if url != PAGE else anonymous_client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_the_admin_sign_in_goes_through_the_two_factor_sign_in(alice_2fa, anonymous_client):
    response = anonymous_client.get(reverse("admin:login") + "?next=/admin/")
    assert response.status_code == 302 and response["Location"] == f"{LOGIN}?next=/admin/"
    posted = anonymous_client.post(reverse("admin:login"), {"username": "alice", "password": PASSWORD})
    assert posted.status_code == 302 and posted["Location"].startswith(LOGIN)
    assert not signed_in(anonymous_client)


def test_the_settings_page_links_to_two_factor_and_email(alice_client):
    page = alice_client.get(reverse("accounts:settings")).content.decode()
    assert f'href="{PAGE}"' in page and f'href="{reverse("accounts:email_change")}"' in page


# The secret at rest

def sign_in_with_code(code: str) -> Client:
    client = Client()
    sign_in_with_password(client)
    client.post(VERIFY, {"code": code})
    return client


def test_the_secret_is_stored_encrypted(alice_2fa):
    stored = TwoFactorDevice.objects.get(user=alice_2fa.user).encrypted_secret
    assert alice_2fa.secret not in stored and alice_2fa.secret.lower() not in stored.lower()


def test_a_secret_no_key_decrypts_stops_the_sign_in_with_an_error_naming_the_setting(alice_2fa, settings):
    settings.TOTP_KEYS = [Fernet.generate_key().decode()]
    client = Client()
    sign_in_with_password(client)
    with pytest.raises(secret_box.SecretUnreadable, match="STRONGBOX_TOTP_KEYS"):
        client.post(VERIFY, {"code": alice_2fa.code})
    assert not signed_in(client)


def test_keys_rotate_without_anyone_setting_up_again(alice_2fa, settings):
    old, new = settings.TOTP_KEYS[0], Fernet.generate_key().decode()
    settings.TOTP_KEYS = [new, old]
    out = StringIO()
    call_command("rotatetotpkeys", stdout=out)
    assert "Re-encrypted 1 two-factor secrets" in out.getvalue()
    settings.TOTP_KEYS = [new]
    assert signed_in(sign_in_with_code(alice_2fa.code))


def test_rotation_names_the_users_whose_secret_no_key_decrypts(alice_2fa, settings):
    stored = TwoFactorDevice.objects.get(user=alice_2fa.user).encrypted_secret
    settings.TOTP_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="1 decrypt with no key in STRONGBOX_TOTP_KEYS.*alice"):
        call_command("rotatetotpkeys")
    assert TwoFactorDevice.objects.get(user=alice_2fa.user).encrypted_secret == stored


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_secrets_stored_in_clear_and_can_be_undone(alice):
    executor = MigrationExecutor(connection)
    before, after = [("accounts", "0005_partition_audit_log")], [("accounts", "0006_encrypt_totp_secrets")]
    clear = pyotp.random_base32()
    try:
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO accounts_twofactordevice (user_id, secret, confirmed, created_at) "
                           "VALUES (%s, %s, %s, %s)", [alice.pk, clear, True, timezone.now()])
        executor.loader.build_graph()
        executor.migrate(after)
        device = TwoFactorDevice.objects.get(user=alice)
        assert device.encrypted_secret != clear and two_factor.device_secret(device) == clear
        executor.loader.build_graph()
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute("SELECT secret FROM accounts_twofactordevice WHERE user_id = %s", [alice.pk])
            assert cursor.fetchone()[0] == clear
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_a_recovery_code_still_signs_in_when_no_key_decrypts_the_secret(alice_2fa, settings):
    settings.TOTP_KEYS = [Fernet.generate_key().decode()]
    assert signed_in(sign_in_with_code(alice_2fa.recovery_codes[0]))
