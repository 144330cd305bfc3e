"""`make run` (SPEC §2) as make would run it (`make -n`: printed, not run): it serves where
HOST and PORT say and prints that address, and installs what running needs, not the test and
lint tools."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_run_commands(*variables: str) -> list[str]:
    # -B: as on a fresh clone, every prerequisite (the install too) is remade.
    run = subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), "run", *variables],
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.splitlines()


def test_make_run_serves_and_prints_the_port_and_host_it_is_given():
    commands = make_run_commands("PORT=8110", "HOST=0.0.0.0")
    load_demo = next(line for line in commands if "load_demo" in line)
    runserver = next(line for line in commands if "runserver" in line)
    assert "--migrate" in load_demo and "--base-url=http://0.0.0.0:8110" in load_demo
    assert runserver.endswith("runserver 0.0.0.0:8110")
    assert not any("8000" in line for line in commands)


def test_make_run_installs_no_test_or_lint_tools():
    commands = make_run_commands()
    project = [line for line in commands if " install " in line and " -e " in line]
    assert project and all(line.endswith(" -e .") for line in project), project
    assert not any("[dev]" in line for line in commands), commands


def test_make_run_starts_a_worker_beside_the_server_and_stops_it_with_the_server():
    """SPEC §2: `make run` starts one `manage.py worker` beside its server; the shell's trap
    ends it whenever the server ends."""
    commands = make_run_commands()
    recipe = " ".join(commands[commands.index(next(c for c in commands if "worker &" in c)) :])
    assert "manage.py worker &" in recipe
    assert "trap 'kill -TERM $worker" in recipe and "EXIT INT TERM" in recipe
    assert recipe.index("worker &") < recipe.index("trap") < recipe.index("runserver")
