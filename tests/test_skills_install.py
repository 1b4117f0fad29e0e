"""``arize-skills skills install``: the packaged skills land where each agent reads them, with its MCP snippet."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from arize_skills.agents import skill_names, skill_states
from arize_skills.cli import main
from arize_skills.skills import skills_root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    return int(exited.value.code or 0), capsys.readouterr().out


@pytest.mark.parametrize(
    ("agent", "folder"), [("claude", ".claude/skills"), ("cursor", ".cursor/skills"), ("codex", ".agents/skills")]
)
def test_install_into_a_project_copies_every_packaged_skill_where_the_agent_reads_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, agent: str, folder: str
) -> None:
    code, out = run(capsys, "skills", "install", "--agent", agent, "--project", str(tmp_path))
    assert code == 0
    source = skills_root()
    names = skill_names(source)
    assert names, "the package ships skills"
    target = tmp_path / folder
    assert set(skill_states(source, target).values()) == {"current"}
    assert sorted(p.name for p in target.iterdir()) == names, "nothing but the skills (no staging leftovers)"
    assert not (Path.home() / folder).exists(), "a project install leaves the user's folder alone"
    assert str(target) in out


def test_a_global_install_goes_to_the_users_home(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(capsys, "skills", "install", "--agent", "claude", "--global")
    assert code == 0
    assert set(skill_states(skills_root(), Path.home() / ".claude" / "skills").values()) == {"current"}


def test_reinstalling_replaces_an_edited_skill_and_keeps_the_users_other_skills(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / ".claude" / "skills"
    run(capsys, "skills", "install", "--agent", "claude", "--project", str(tmp_path))
    name = skill_names(skills_root())[0]
    (target / name / "SKILL.md").write_text("edited", encoding="utf-8")
    (target / name / "stray.md").write_text("left from an old version", encoding="utf-8")
    (target / "my-own-skill").mkdir()
    (target / "my-own-skill" / "SKILL.md").write_text("mine", encoding="utf-8")
    assert skill_states(skills_root(), target)[name] == "outdated"

    code, _ = run(capsys, "skills", "install", "--agent", "claude", "--project", str(tmp_path))
    assert code == 0
    assert skill_states(skills_root(), target)[name] == "current"
    assert not (target / name / "stray.md").exists()
    assert (target / "my-own-skill" / "SKILL.md").read_text(encoding="utf-8") == "mine"


def json_after(out: str, marker: str) -> dict[str, object]:
    text = out[out.index(marker) :]
    start = text.index("{")
    decoded, _ = json.JSONDecoder().raw_decode(text[start:])
    assert isinstance(decoded, dict)
    return decoded


@pytest.mark.parametrize("agent", ["claude", "cursor"])
def test_the_printed_snippet_is_an_mcp_servers_config_that_starts_our_server(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, agent: str
) -> None:
    _, out = run(capsys, "skills", "install", "--agent", agent, "--project", str(tmp_path))
    config = json_after(out, "Merge into" if agent == "cursor" else "merge into")
    entry = config["mcpServers"]["arize-skills"]  # type: ignore[index]
    assert entry["args"][-1] == "mcp"
    assert Path(entry["command"]).is_absolute(), "an agent started from a GUI may not have our PATH"
    where = ".cursor/mcp.json" if agent == "cursor" else ".mcp.json"
    assert str(tmp_path / where) in out


def test_the_codex_snippet_is_valid_toml_for_config_toml(capsys: pytest.CaptureFixture[str]) -> None:
    _, out = run(capsys, "skills", "install", "--agent", "codex", "--global")
    assert "~/.codex/config.toml" in out
    table = tomllib.loads(out[out.index("[mcp_servers.") :])
    assert table["mcp_servers"]["arize-skills"]["args"][-1] == "mcp"


def test_install_refuses_a_project_folder_that_does_not_exist(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["skills", "install", "--agent", "claude", "--project", str(tmp_path / "nope")])
    assert exited.value.code == 2
    assert "not a directory" in capsys.readouterr().err
