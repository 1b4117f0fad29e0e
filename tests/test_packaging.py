"""The packaging files: the MCPB ``manifest.json`` against the official MCPB JSON schema, and the Claude Code and
Cursor plugin manifests against their documented fields.

The MCPB schema is read from the npm package ``@anthropic-ai/mcpb`` (pinned below), fetched with ``npm pack`` into a
temporary folder at test time, so no copy of it lives in this repository.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from arize_skills import __version__
from arize_skills.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MCPB_PACKAGE = "@anthropic-ai/mcpb@2.1.2"
SNAPSHOT = ROOT / "arize_skills" / "mcp_server" / "tools_listing.json"


def load(relative: str) -> dict[str, Any]:
    data = json.loads((ROOT / relative).read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{relative} must hold a JSON object"
    return data


@pytest.fixture(scope="module")
def mcpb_schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The official JSON schema for the manifest version ``manifest.json`` declares."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the official MCPB schema ships in the npm package @anthropic-ai/mcpb")
    folder = tmp_path_factory.mktemp("mcpb")
    done = subprocess.run(
        [npm, "pack", MCPB_PACKAGE, "--pack-destination", str(folder), "--cache", str(folder / "npm-cache")],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"npm pack {MCPB_PACKAGE} failed: {done.stderr[-2000:]}"
    (tarball,) = folder.glob("*.tgz")
    version = load("manifest.json")["manifest_version"]
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(f"package/schemas/mcpb-manifest-v{version}.schema.json")
        assert member is not None, f"{MCPB_PACKAGE} has no schema for manifest_version {version}"
        schema: dict[str, Any] = json.load(member)
    return schema


def test_manifest_json_is_valid_under_the_official_mcpb_schema(mcpb_schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(mcpb_schema, format_checker=jsonschema.FormatChecker())
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(load("manifest.json"))
    ]
    assert errors == []


def test_the_manifest_uses_a_version_whose_schema_takes_a_uv_python_server() -> None:
    manifest = load("manifest.json")
    assert manifest["manifest_version"] == "0.4"
    server = manifest["server"]
    assert server["type"] == "uv"
    assert (ROOT / server["entry_point"]).is_file()
    assert server["mcp_config"]["command"] == "uv"
    assert server["mcp_config"]["args"][-2:] == ["arize-skills", "mcp"]
    assert "${__dirname}" in server["mcp_config"]["args"]


def test_the_manifest_passes_the_key_space_and_engine_home_from_user_config_as_environment() -> None:
    manifest = load("manifest.json")
    env = manifest["server"]["mcp_config"]["env"]
    assert env == {
        "ARIZE_API_KEY": "${user_config.arize_api_key}",
        "ARIZE_SPACE": "${user_config.arize_space}",
        "ARIZE_SKILLS_HOME": "${user_config.engine_home}",
    }
    options = manifest["user_config"]
    assert options["arize_api_key"]["sensitive"] is True
    assert options["arize_api_key"].get("required", False) is False, "without a key the local engine is used"
    assert options["engine_home"]["type"] == "directory"
    referenced = set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(manifest["server"])))
    assert referenced == set(options), "every option is used, and every use names an option"


def test_the_manifest_lists_exactly_the_server_tools_with_their_descriptions() -> None:
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    expected = [{"name": tool["name"], "description": tool["description"]} for tool in snapshot]
    assert load("manifest.json")["tools"] == expected, "regenerate manifest.json tools from tools_listing.json"


def test_every_manifest_carries_the_package_version() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == __version__
    for path in ("manifest.json", ".claude-plugin/plugin.json", ".cursor-plugin/plugin.json"):
        assert load(path)["version"] == __version__, path


def test_the_wheel_ships_the_package_data_the_engine_and_server_read(tmp_path: Path) -> None:
    # Built with hatchling, the build backend pyproject.toml names, from this tree (no network).
    from hatchling.builders.wheel import WheelBuilder

    (wheel,) = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped_js = archive.read("arize_skills/engine/api/review_assets/review.js")
    for data in (
        "arize_skills/engine/api/review_assets/review.js",
        "arize_skills/engine/api/review_assets/review.css",
        "arize_skills/mcp_server/tools_listing.json",
    ):
        assert data in names, f"the wheel lacks {data}"
    assert shipped_js == (ROOT / "arize_skills/engine/api/review_assets/review.js").read_bytes()


def test_an_option_the_user_left_empty_in_claude_desktop_counts_as_unset() -> None:
    # A host passes an optional option with no value as the literal "${user_config.KEY}".
    environ = {
        "ARIZE_API_KEY": "${user_config.arize_api_key}",
        "ARIZE_SPACE": "${user_config.arize_space}",
        "ARIZE_SKILLS_HOME": "${user_config.engine_home}",
    }
    settings = Settings.resolve(environ=environ, profile_dir=Path("/nonexistent"))
    assert settings.backend == "embedded"
    assert settings.space is None
    assert settings.home == Path.home() / ".arize-skills"


# Claude Code plugin manifest (code.claude.com plugin reference; `claude plugin validate`): only `name` is
# required, kebab-case; `author` is {name, email?, url?}; `userConfig` options need type/title/description and take
# no other keys than those listed; the MCP server lives in the root `.mcp.json` as {"mcpServers": {name: {command,
# args?, env?}}} (a `.claude-plugin/mcp.json` is ignored).
CLAUDE_KEYS = {
    "name", "displayName", "version", "description", "author", "homepage", "repository", "license", "keywords",
    "icon", "userConfig", "network", "skills", "commands", "agents", "hooks", "mcpServers", "lspServers",
    "outputStyles", "channels",
}  # fmt: skip
USER_CONFIG_KEYS = {
    "type",
    "title",
    "description",
    "required",
    "default",
    "options",
    "multiple",
    "sensitive",
    "min",
    "max",
}
USER_CONFIG_TYPES = {"string", "number", "boolean", "directory", "file"}
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")
# Cursor plugin manifest (cursor/plugins schemas/plugin.schema.json): additionalProperties false, `name` required
# and matching the pattern below; the MCP config is `mcp.json` (no dot) at the plugin root.
CURSOR_KEYS = {
    "name", "displayName", "description", "version", "minClientVersions", "author", "publisher", "homepage",
    "repository", "license", "logo", "keywords", "category", "tags", "commands", "agents", "skills", "rules", "hooks",
    "mcpServers", "variables",
}  # fmt: skip
CURSOR_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


def check_author(author: Any) -> None:
    assert isinstance(author, dict) and isinstance(author.get("name"), str) and author["name"]
    assert set(author) <= {"name", "email", "url"}


def check_mcp_servers(config: dict[str, Any]) -> None:
    servers = config["mcpServers"]
    assert set(config) == {"mcpServers"} and isinstance(servers, dict) and servers
    for entry in servers.values():
        assert set(entry) <= {"command", "args", "env", "type"}
        assert isinstance(entry["command"], str) and entry["command"]
        assert all(isinstance(arg, str) for arg in entry.get("args", []))
    assert servers["arize-skills"] == {"command": "arize-skills", "args": ["mcp"]}


def test_the_claude_code_plugin_manifest_uses_only_documented_fields() -> None:
    plugin = load(".claude-plugin/plugin.json")
    assert set(plugin) <= CLAUDE_KEYS, f"undocumented keys: {set(plugin) - CLAUDE_KEYS}"
    assert KEBAB.match(plugin["name"])
    assert SEMVER.match(plugin["version"])
    check_author(plugin["author"])
    assert isinstance(plugin["keywords"], list) and all(isinstance(k, str) for k in plugin["keywords"])
    for key, option in plugin.get("userConfig", {}).items():
        assert re.match(r"^[A-Za-z_]\w*$", key)
        assert set(option) <= USER_CONFIG_KEYS and option["type"] in USER_CONFIG_TYPES
        assert option["title"] and option["description"]
    # Claude Code finds skills/ and .mcp.json at the plugin root by default.
    assert any((ROOT / "skills").glob("*/SKILL.md"))
    check_mcp_servers(load(".mcp.json"))


def test_the_cursor_plugin_manifest_uses_only_documented_fields() -> None:
    plugin = load(".cursor-plugin/plugin.json")
    assert set(plugin) <= CURSOR_KEYS, f"undocumented keys: {set(plugin) - CURSOR_KEYS}"
    assert CURSOR_NAME.match(plugin["name"])
    assert SEMVER.match(plugin["version"])
    check_author(plugin["author"])
    assert plugin["mcpServers"] == "./mcp.json"
    assert (ROOT / plugin["mcpServers"]).is_file()
    assert any((ROOT / plugin["skills"]).glob("*/SKILL.md"))
    check_mcp_servers(load("mcp.json"))


def test_the_claude_and_cursor_plugins_describe_the_same_package() -> None:
    claude, cursor = load(".claude-plugin/plugin.json"), load(".cursor-plugin/plugin.json")
    for key in ("name", "version", "description", "license", "keywords"):
        assert claude[key] == cursor[key], key
    assert load(".mcp.json") == load("mcp.json")
