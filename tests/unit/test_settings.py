from __future__ import annotations

import pytest

from smartpass.settings import Settings, SettingsError

VALID = {
    "STAGE": "dev",
    "DISTRICTS_TABLE": "districts",
    "DISTRICT_HISTORY_TABLE": "district-history",
    "ROSTER_USERS_TABLE": "roster-users",
    "ROSTER_ORGS_TABLE": "roster-orgs",
    "ROSTER_CLASSES_TABLE": "roster-classes",
    "ROSTER_ENROLLMENTS_TABLE": "roster-enrollments",
    "ROSTER_TERMS_TABLE": "roster-terms",
    "SYNC_PROGRESS_TABLE": "sync-progress",
    "SYNC_RUNS_TABLE": "sync-runs",
    "LOGIN_STATES_TABLE": "login-states",
    "LOGIN_CODES_TABLE": "login-codes",
    "IDEMPOTENCY_TABLE": "idempotency",
    "SYNC_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sync",
    "OPERATOR_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:operators",
    "PARTNER_API_KEY_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pk",
    "SSO_CLIENT_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:sso",
    "SESSION_SIGNING_KEY_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:session",
    "DISTRICT_LINK_SIGNING_KEY_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:link",
    "DISTRICT_LINK_PUBLIC_KEYS_PARAMETER": "/smartpass/dev/district-link-public-keys",
    "SESSION_PUBLIC_KEYS_PARAMETER": "/smartpass/dev/session-public-keys",
    "DISTRICT_SECRET_PREFIX": "smartpass/dev/districts/",
    "CLASSLINK_PARTNER_API_URL": "https://oneroster-proxy.apis.classlink.com",
    "CLASSLINK_ONEROSTER_PROXY_URL": "https://oneroster-proxy.apis.classlink.com/",
    "CLASSLINK_LAUNCHPAD_URL": "https://launchpad.classlink.com",
    "CLASSLINK_NODEAPI_URL": "https://nodeapi.classlink.com",
    "SMARTPASS_APP_URL": "https://app.smartpass.app",
    "ONEROSTER_BACKOFF_SECONDS": "1",
    "ONEROSTER_MAX_RETRIES": "5",
}


def test_valid_environment_gives_settings_with_normalised_urls() -> None:
    settings = Settings.from_environ(VALID)
    assert settings.districts_table == "districts"
    assert settings.classlink_oneroster_proxy_url == "https://oneroster-proxy.apis.classlink.com"


def test_loopback_http_is_allowed_for_the_local_sandbox() -> None:
    settings = Settings.from_environ({**VALID, "CLASSLINK_LAUNCHPAD_URL": "http://127.0.0.1:8080/launchpad"})
    assert settings.classlink_launchpad_url == "http://127.0.0.1:8080/launchpad"


def test_missing_settings_are_all_named_in_one_error() -> None:
    env = {k: v for k, v in VALID.items() if k not in ("SYNC_QUEUE_URL", "DISTRICTS_TABLE")}
    with pytest.raises(SettingsError) as error:
        Settings.from_environ(env)
    message = str(error.value)
    assert "SYNC_QUEUE_URL is not set" in message
    assert "DISTRICTS_TABLE is not set" in message


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("CLASSLINK_LAUNCHPAD_URL", "http://launchpad.classlink.com", "https"),
        ("CLASSLINK_NODEAPI_URL", "nodeapi.classlink.com", "absolute"),
        ("CLASSLINK_PARTNER_API_URL", "https://x.example?key=1", "query"),
        ("OPERATOR_TOPIC_ARN", "operators", "pattern"),
        ("DISTRICT_SECRET_PREFIX", "smartpass/dev/districts", "pattern"),
        ("STAGE", "Prod!", "pattern"),
    ],
)
def test_malformed_setting_is_named_with_the_reason(name: str, value: str, reason: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_environ({**VALID, name: value})
    assert name in str(error.value)
    assert reason in str(error.value)


def test_the_error_never_echoes_values() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_environ({**VALID, "SMARTPASS_APP_URL": "http://secret-host.example/token=abc"})
    assert "token=abc" not in str(error.value)
