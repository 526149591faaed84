"""The example systemd units in deploy/systemd: valid for systemd, and naming real settings."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from emailhook.entrypoints.cli.main import main
from emailhook.settings import Settings
from support.services import unavailable

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
INSTALLED = "/opt/emailhook/.venv/bin/emailhook"


def entries(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of a unit or environment file, in order (keys may repeat)."""
    found, section = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            assert line.endswith("]"), f"{path.name}: bad section line {line!r}"
            section = line[1:-1]
            continue
        key, equals, value = line.partition("=")
        assert equals, f"{path.name}: not key=value: {line!r}"
        found.append((section, key.strip(), value.strip()))
    return found


def services() -> list[Path]:
    return sorted(UNITS.glob("*.service"))


def test_every_unit_runs_an_emailhook_command_that_exists() -> None:
    assert {p.name for p in services()} >= {"emailhook-web.service", "emailhook-worker.service"}
    for unit in services():
        starts = [value for section, key, value in entries(unit) if key == "ExecStart"]
        assert len(starts) == 1, f"{unit.name}: one ExecStart"
        argv = shlex.split(starts[0])
        assert argv[0] == INSTALLED, f"{unit.name}: {argv[0]}"
        result = CliRunner().invoke(main, [*argv[1:], "--help"])
        assert result.exit_code == 0, f"{unit.name}: {starts[0]}\n{result.output}"


def test_every_variable_the_examples_set_is_a_setting() -> None:
    fields = {f"EMAILHOOK_{name.upper()}" for name in Settings.model_fields}
    fields |= {"DATABASE_URL", "CELERY_BROKER_URL"}
    env_file = UNITS / "emailhook.env.example"
    names = [key for _, key, _ in entries(env_file)]
    for unit in services():
        names += [value.split("=", 1)[0] for _, key, value in entries(unit) if key == "Environment"]
    unknown = sorted(set(names) - fields)
    assert not unknown, f"not read by emailhook: {unknown}"
    shared = {key for _, key, _ in entries(env_file)}
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "EMAILHOOK_ENV"} <= shared


def test_web_and_worker_units_keep_spool_and_metrics_on_the_host() -> None:
    for name in ("emailhook-web.service", "emailhook-worker.service"):
        env = dict(
            value.split("=", 1) for _, key, value in entries(UNITS / name) if key == "Environment"
        )
        assert env["EMAILHOOK_SPOOL_DIR"].startswith("/var/lib/"), name  # a disk, not /run
        assert env["EMAILHOOK_METRICS_DIR"].startswith("/run/"), name  # emptied at boot
        assert ("Service", "KillMode", "mixed") in entries(UNITS / name), name


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd", "systemd-analyze is not installed (apt-get install systemd)")
    emailhook = Path(sys.executable).with_name("emailhook")
    for unit in services():  # verify wants the ExecStart binary to exist: point it at ours
        text = unit.read_text().replace(INSTALLED, str(emailhook))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # A bad value is only a warning (exit 0): any line said is a failure here.
    assert (result.returncode, result.stdout + result.stderr) == (0, ""), result.stderr
