"""Settings resolution: explicit > environment > ax profile > embedded engine, with base URLs exactly as the SDK's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from arize.config import SDKConfiguration
from arize.regions import Region

from arize_skills.errors import ConfigError
from arize_skills.models.ids import encode_id
from arize_skills.profile import load_active_profile
from arize_skills.settings import REGION_ALIASES, Settings, api_base_url

SPACE_ID = encode_id("Space", 7, "aBcD")


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def write_profile(name: str, text: str, *, active: bool = True) -> Path:
    """Write an ax CLI profile in the temporary HOME the way ``ax profiles create`` lays it out."""
    root = Path.home() / ".arize"
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    path = root / "profiles" / f"{name}.toml"
    path.write_text(text)
    if active:
        (root / ".active_profile").write_text(name)
    return path


def api_key_profile(key: str = "ak-profile-123", routing: str = "") -> str:
    return f"""
[profile]
name = "work"

[auth]
auth_method = "api-key"
api_key = "{key}"

[routing]
{routing}
"""


def oauth_profile(token: str, expires_at: str) -> str:
    return f"""
[profile]
name = "sso"

[auth]
auth_method = "oauth"

[auth.oauth]
access_token = "{token}"
refresh_token = "refresh-xyz"
expires_at = {expires_at}
user_email = "someone@example.com"

[routing]
region = "eu-west-1a"
api_host = "api.arize.com"
api_scheme = "https"
"""


def sdk_api_url() -> str:
    """The REST base URL the official SDK computes from the same environment."""
    return SDKConfiguration(api_key="sdk-key").api_url


# --- base URLs, compared with the official SDK -------------------------------------------------------------------

SDK_CASES: list[tuple[dict[str, str], str]] = [
    ({}, "https://api.arize.com"),
    ({"ARIZE_REGION": "ca-central-1a"}, "https://api.ca-central-1a.arize.com"),
    ({"ARIZE_REGION": "eu-west-1a"}, "https://api.eu-west-1a.arize.com"),
    ({"ARIZE_REGION": "us-central-1a"}, "https://api.us-central-1a.arize.com"),
    ({"ARIZE_REGION": "us-east-1b"}, "https://api.us-east-1b.arize.com"),
    ({"ARIZE_REGION": "eu-west-1a", "ARIZE_API_PORT": "8443"}, "https://api.eu-west-1a.arize.com:8443"),
    ({"ARIZE_REGION": "us-east-1b", "ARIZE_SINGLE_PORT": "0"}, "https://api.us-east-1b.arize.com"),
    ({"ARIZE_SINGLE_HOST": "arize.corp.example"}, "https://arize.corp.example"),
    ({"ARIZE_SINGLE_HOST": "arize.corp.example", "ARIZE_SINGLE_PORT": "8443"}, "https://arize.corp.example:8443"),
    ({"ARIZE_SINGLE_PORT": "9000"}, "https://api.arize.com:9000"),
    (
        {"ARIZE_SINGLE_HOST": "arize.corp.example", "ARIZE_SINGLE_PORT": "8443", "ARIZE_API_PORT": "4443"},
        "https://arize.corp.example:4443",
    ),
    (
        {"ARIZE_SINGLE_HOST": "127.0.0.1", "ARIZE_SINGLE_PORT": "8765", "ARIZE_API_SCHEME": "http"},
        "http://127.0.0.1:8765",
    ),
    ({"ARIZE_BASE_DOMAIN": "privatelink.example.com"}, "https://api.privatelink.example.com"),
    (
        {"ARIZE_BASE_DOMAIN": "privatelink.example.com", "ARIZE_API_PORT": "444"},
        "https://api.privatelink.example.com:444",
    ),
    (
        {"ARIZE_API_HOST": "ax.internal", "ARIZE_API_SCHEME": "http", "ARIZE_API_PORT": "8080"},
        "http://ax.internal:8080",
    ),
    ({"ARIZE_API_HOST": "ax.internal:9999", "ARIZE_API_PORT": "8080"}, "https://ax.internal:8080"),
    ({"ARIZE_API_HOST": "ax.internal:9999"}, "https://ax.internal:9999"),
    ({"ARIZE_API_HOST": "  ax.internal  ", "ARIZE_API_SCHEME": "HTTPS"}, "https://ax.internal"),
    ({"ARIZE_API_PORT": "0"}, "https://api.arize.com"),
]


@pytest.mark.parametrize(("env", "expected"), SDK_CASES)
def test_the_base_url_from_the_environment_is_the_one_the_official_sdk_computes(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    set_env(monkeypatch, {"ARIZE_API_KEY": "k-env", **env})
    settings = Settings.resolve()
    assert settings.backend == "ax"
    assert settings.base_url == sdk_api_url()
    assert settings.base_url == expected


@pytest.mark.parametrize(("alias", "region"), sorted(REGION_ALIASES.items()))
def test_region_aliases_of_the_ax_cli_give_the_sdk_url_of_their_region(
    monkeypatch: pytest.MonkeyPatch, alias: str, region: str
) -> None:
    sdk = SDKConfiguration(api_key="k", region=Region(region)).api_url
    set_env(monkeypatch, {"ARIZE_API_KEY": "k", "ARIZE_REGION": alias})
    assert Settings.resolve().base_url == sdk
    monkeypatch.setenv("ARIZE_REGION", alias.lower())
    assert Settings.resolve().base_url == sdk
    assert api_base_url(region=alias) == sdk


@pytest.mark.parametrize(
    "env",
    [
        {"ARIZE_REGION": "eu-west-1a", "ARIZE_SINGLE_HOST": "arize.corp.example"},
        {"ARIZE_REGION": "eu-west-1a", "ARIZE_BASE_DOMAIN": "privatelink.example.com"},
        {"ARIZE_SINGLE_PORT": "8443", "ARIZE_BASE_DOMAIN": "privatelink.example.com"},
        {"ARIZE_REGION": "us-east-1b", "ARIZE_SINGLE_PORT": "8443"},
    ],
)
def test_two_endpoint_overrides_are_a_config_error_as_in_the_sdk(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    set_env(monkeypatch, {"ARIZE_API_KEY": "k", **env})
    with pytest.raises(Exception, match="[Mm]ultiple endpoint override"):
        sdk_api_url()
    with pytest.raises(ConfigError, match="only one of ARIZE_REGION"):
        Settings.resolve()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ARIZE_API_PORT": "https"}, "ARIZE_API_PORT"),
        ({"ARIZE_API_PORT": "70000"}, "ARIZE_API_PORT"),
        ({"ARIZE_SINGLE_PORT": "-1"}, "ARIZE_SINGLE_PORT"),
        ({"ARIZE_SINGLE_HOST": "h", "ARIZE_SINGLE_PORT": "80a"}, "ARIZE_SINGLE_PORT"),
        ({"ARIZE_API_SCHEME": "ftp"}, "ARIZE_API_SCHEME"),
        ({"ARIZE_REGION": "mars-north-1"}, "region"),
    ],
)
def test_a_malformed_endpoint_value_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    set_env(monkeypatch, {"ARIZE_API_KEY": "k", **env})
    with pytest.raises(ValueError):
        sdk_api_url()
    with pytest.raises(ConfigError, match=named):
        Settings.resolve()


# --- resolution order ---------------------------------------------------------------------------------------------


def test_with_nothing_configured_the_embedded_engine_is_used_with_state_in_the_home_directory() -> None:
    settings = Settings.resolve()
    assert settings.backend == "embedded"
    assert settings.base_url is None
    assert settings.api_key is None
    assert settings.space is None
    assert settings.home == Path.home() / ".arize-skills"
    assert settings.sources["base_url"] == "embedded local engine"
    assert settings.sources["home"] == "default"


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    set_env(
        monkeypatch,
        {
            "ARIZE_API_KEY": "k-env",
            "ARIZE_REGION": "eu-west-1a",
            "ARIZE_SPACE_ID": SPACE_ID,
            "ARIZE_SKILLS_HOME": str(tmp_path / "env-home"),
        },
    )
    settings = Settings.resolve(
        api_key="k-arg", base_url="https://ax.example.test/", space="research", home=tmp_path / "arg-home"
    )
    assert settings.backend == "ax"
    assert settings.api_key == "k-arg"
    assert settings.base_url == "https://ax.example.test"
    assert settings.space_name == "research"
    assert settings.space_id is None
    assert settings.home == tmp_path / "arg-home"
    assert {k: settings.sources[k] for k in ("api_key", "base_url", "space", "home")} == {
        "api_key": "argument",
        "base_url": "argument",
        "space": "argument",
        "home": "argument",
    }


def test_the_environment_wins_over_the_ax_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile("work", api_key_profile(routing='region = "EU"'))
    monkeypatch.setenv("ARIZE_API_KEY", "k-env")
    settings = Settings.resolve()
    assert settings.api_key == "k-env"
    assert settings.base_url == "https://api.arize.com"
    assert settings.sources["api_key"] == "env ARIZE_API_KEY"


def test_the_ax_profile_wins_over_the_embedded_engine() -> None:
    write_profile("work", api_key_profile(routing='region = "EU"'))
    settings = Settings.resolve()
    assert settings.backend == "ax"
    assert settings.api_key == "ak-profile-123"
    assert settings.base_url == SDKConfiguration(api_key="k", region=Region.EU_WEST_1A).api_url
    assert settings.sources["api_key"] == "ax profile work"
    assert settings.sources["base_url"] == "ax profile work"


def test_endpoint_variables_win_over_the_profile_routing_but_the_profile_still_gives_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_profile("work", api_key_profile(routing='region = "EU"'))
    monkeypatch.setenv("ARIZE_REGION", "ca-central-1a")
    settings = Settings.resolve()
    assert settings.api_key == "ak-profile-123"
    assert settings.base_url == "https://api.ca-central-1a.arize.com"
    assert settings.sources["base_url"] == "env ARIZE_REGION"


def test_arize_space_id_gives_a_space_id_and_arize_space_a_space_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIZE_SPACE_ID", SPACE_ID)
    settings = Settings.resolve()
    assert (settings.space_id, settings.space_name, settings.space) == (SPACE_ID, None, SPACE_ID)
    assert settings.sources["space"] == "env ARIZE_SPACE_ID"

    monkeypatch.delenv("ARIZE_SPACE_ID")
    monkeypatch.setenv("ARIZE_SPACE", "research")
    settings = Settings.resolve()
    assert (settings.space_id, settings.space_name, settings.space) == (None, "research", "research")
    assert settings.sources["space"] == "env ARIZE_SPACE"


def test_arize_space_id_wins_over_arize_space(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {"ARIZE_SPACE_ID": SPACE_ID, "ARIZE_SPACE": "research"})
    assert Settings.resolve().space_id == SPACE_ID


def test_arize_skills_home_sets_where_the_embedded_engine_keeps_its_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ARIZE_SKILLS_HOME", str(tmp_path / "state"))
    settings = Settings.resolve()
    assert settings.home == tmp_path / "state"
    assert settings.sources["home"] == "env ARIZE_SKILLS_HOME"


def test_arize_skills_engine_url_points_at_a_running_engine_and_skips_the_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_profile("work", api_key_profile())
    monkeypatch.setenv("ARIZE_SKILLS_ENGINE_URL", "http://127.0.0.1:8765/")
    settings = Settings.resolve()
    assert settings.backend == "engine-url"
    assert settings.base_url == "http://127.0.0.1:8765"
    assert settings.api_key is None
    assert settings.sources["base_url"] == "env ARIZE_SKILLS_ENGINE_URL"


def test_a_key_set_with_arize_skills_engine_url_is_that_engines_token(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {"ARIZE_SKILLS_ENGINE_URL": "http://10.0.0.5:8765", "ARIZE_API_KEY": "engine-token"})
    settings = Settings.resolve()
    assert settings.backend == "engine-url"
    assert settings.base_url == "http://10.0.0.5:8765"
    assert settings.api_key == "engine-token"


def test_arize_skills_engine_url_with_an_ax_endpoint_variable_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_env(monkeypatch, {"ARIZE_SKILLS_ENGINE_URL": "http://127.0.0.1:8765", "ARIZE_REGION": "EU"})
    with pytest.raises(ConfigError, match="ARIZE_SKILLS_ENGINE_URL and ARIZE_REGION"):
        Settings.resolve()


@pytest.mark.parametrize("url", ["127.0.0.1:8765", "ftp://127.0.0.1", "http://"])
def test_an_engine_url_that_is_not_http_is_a_config_error(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("ARIZE_SKILLS_ENGINE_URL", url)
    with pytest.raises(ConfigError, match="ARIZE_SKILLS_ENGINE_URL must be an http"):
        Settings.resolve()


def test_endpoint_variables_without_a_key_point_at_an_ax_compatible_server(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {"ARIZE_SINGLE_HOST": "127.0.0.1", "ARIZE_SINGLE_PORT": "8765", "ARIZE_API_SCHEME": "http"})
    settings = Settings.resolve()
    assert settings.backend == "engine-url"
    assert settings.base_url == "http://127.0.0.1:8765"


def test_blank_and_zero_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {"ARIZE_API_KEY": "   ", "ARIZE_REGION": "", "ARIZE_API_PORT": "0", "ARIZE_SPACE": " "})
    settings = Settings.resolve()
    assert settings.backend == "embedded"
    assert settings.space is None


# --- the ax profile ------------------------------------------------------------------------------------------------


def test_an_api_key_profile_is_read_from_the_active_profile_file() -> None:
    write_profile("other", api_key_profile(key="ak-not-active"), active=False)
    write_profile("work", api_key_profile())
    profile = load_active_profile()
    assert profile is not None
    assert (profile.name, profile.auth_method, profile.api_key) == ("work", "api-key", "ak-profile-123")
    assert profile.base_url == "https://api.arize.com"
    assert "ak-profile-123" not in repr(profile)


def test_a_profile_written_before_auth_method_existed_is_still_read() -> None:
    write_profile("legacy", '[profile]\nname = "legacy"\n[auth]\napi_key = "ak-legacy"\n')
    settings = Settings.resolve()
    assert settings.api_key == "ak-legacy"
    assert settings.base_url == "https://api.arize.com"


@pytest.mark.parametrize(
    ("routing", "sdk_kwargs"),
    [
        ('region = "eu-west-1a"', {"region": Region.EU_WEST_1A}),
        ('region = "CA"', {"region": Region.CA_CENTRAL_1A}),
        (
            'single_host = "arize.corp.example"\nsingle_port = "8443"',
            {"single_host": "arize.corp.example", "single_port": 8443},
        ),
        ('base_domain = "privatelink.example.com"', {"base_domain": "privatelink.example.com"}),
        ('api_host = "ax.internal"\napi_scheme = "http"', {"api_host": "ax.internal", "api_scheme": "http"}),
    ],
)
def test_profile_routing_gives_the_url_the_sdk_computes_for_it(routing: str, sdk_kwargs: dict[str, Any]) -> None:
    # The ax CLI hands its routing table to SDKConfiguration (Config.to_sdk_config); compare with that.
    write_profile("work", api_key_profile(routing=routing))
    assert Settings.resolve().base_url == SDKConfiguration(api_key="k", **sdk_kwargs).api_url


def test_conflicting_profile_routing_is_a_config_error_naming_the_profile() -> None:
    path = write_profile("work", api_key_profile(routing='region = "EU"\nbase_domain = "x.example"'))
    with pytest.raises(ConfigError) as caught:
        Settings.resolve()
    assert str(path) in str(caught.value)


def test_an_oauth_profile_with_a_valid_token_uses_the_access_token() -> None:
    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_profile("sso", oauth_profile("oauth-access-abc", f'"{expires}"'))
    settings = Settings.resolve()
    assert settings.backend == "ax"
    assert settings.api_key == "oauth-access-abc"
    assert settings.base_url == "https://api.eu-west-1a.arize.com"
    assert settings.sources["api_key"] == "ax profile sso"


def test_an_oauth_expiry_written_as_a_toml_datetime_is_understood() -> None:
    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_profile("sso", oauth_profile("oauth-access-abc", expires))
    assert Settings.resolve().api_key == "oauth-access-abc"


@pytest.mark.parametrize("seconds_left", [-3600, 30])
def test_an_expired_oauth_token_is_a_config_error_saying_how_to_refresh_it(seconds_left: int) -> None:
    expires = (datetime.now(UTC) + timedelta(seconds=seconds_left)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_profile("sso", oauth_profile("oauth-access-old", f'"{expires}"'))
    with pytest.raises(ConfigError) as caught:
        Settings.resolve()
    message = str(caught.value)
    assert "expired" in message
    assert "ax auth login" in message
    assert "oauth-access-old" not in message
    assert "refresh-xyz" not in message


def test_a_logged_out_oauth_profile_is_a_config_error() -> None:
    write_profile("sso", '[profile]\nname = "sso"\n[auth]\nauth_method = "oauth"\n')
    with pytest.raises(ConfigError, match="logged out"):
        Settings.resolve()


def test_profile_values_expand_environment_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_AX_KEY", "ak-from-var")
    write_profile("work", api_key_profile(key="${MY_AX_KEY}", routing='region = "${MY_AX_REGION:EU}"'))
    settings = Settings.resolve()
    assert settings.api_key == "ak-from-var"
    assert settings.base_url == "https://api.eu-west-1a.arize.com"

    monkeypatch.setenv("MY_AX_REGION", "ca-central-1a")
    assert Settings.resolve().base_url == "https://api.ca-central-1a.arize.com"


def test_a_profile_referencing_an_unset_variable_is_a_config_error_naming_it() -> None:
    write_profile("work", api_key_profile(key="${ARIZE_API_KEY}"))
    with pytest.raises(ConfigError, match=r"\$\{ARIZE_API_KEY\}"):
        Settings.resolve()


def test_a_profile_that_is_not_toml_is_a_config_error() -> None:
    path = write_profile("work", "[auth\napi_key = ")
    with pytest.raises(ConfigError, match=str(path)):
        Settings.resolve()


def test_an_active_marker_naming_a_missing_profile_means_no_profile(tmp_path: Path) -> None:
    root = Path.home() / ".arize"
    root.mkdir()
    (root / ".active_profile").write_text("gone\n")
    assert load_active_profile() is None
    assert Settings.resolve().backend == "embedded"


def test_a_profile_has_no_default_space() -> None:
    write_profile("work", api_key_profile() + '\n[defaults]\nspace = "from-profile"\n')
    assert Settings.resolve().space is None


# --- no secret in what settings show -------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["argument", "env", "profile", "oauth"])
def test_describe_and_repr_never_contain_the_key(monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    secret = "sk-SECRET-settings-abc"
    if source == "argument":
        settings = Settings.resolve(api_key=secret)
    elif source == "env":
        monkeypatch.setenv("ARIZE_API_KEY", secret)
        settings = Settings.resolve()
    elif source == "profile":
        write_profile("work", api_key_profile(key=secret))
        settings = Settings.resolve()
    else:
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        write_profile("sso", oauth_profile(secret, f'"{expires}"'))
        settings = Settings.resolve()
    assert settings.api_key == secret
    described = settings.describe()
    assert described["has_api_key"] is True
    assert secret not in json.dumps(described)
    assert secret not in repr(settings)
    assert secret not in str(settings)
