"""The deployment files (deploy/): CI cannot build images here (no registry), so what can be checked
without Docker is: the compose file parses, wires the services the docs promise, and names only
environment variables Jifen reads; the Dockerfile runs as a user without privileges and checks
/healthz; and every variable Jifen reads is in the README's configuration table."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
VARIABLE = re.compile(r'"((?:JIFEN|DATABASE|REDIS)_[A-Z_]+)"')


def variables_read() -> set[str]:
    """The environment variables Jifen's code reads (string literals of the configuration's names)."""
    found = set()
    for path in [*(ROOT / "api").rglob("*.py"), *(ROOT / "persistence").rglob("*.py")]:
        found |= set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    return found


def variables_documented() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.MULTILINE))


def test_every_variable_jifen_reads_is_documented_and_no_other():
    assert variables_read() == variables_documented()


def test_the_compose_file_runs_jifen_on_postgresql_and_redis_with_workers():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "jifen"}
    jifen = services["jifen"]
    assert jifen["build"]["dockerfile"] == "deploy/Dockerfile"
    command = jifen["command"]
    assert command[:2] == ["jifen", "serve"] and int(command[command.index("--workers") + 1]) >= 2
    environment = jifen["environment"]
    assert set(environment) <= variables_read(), set(environment) - variables_read()
    assert environment["DATABASE_URL"].startswith("postgresql://") and "@postgres:" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"].startswith("redis://redis:")
    assert environment["JIFEN_ENV"] == "prod" and "JIFEN_SECRET" in environment
    assert {name: condition["condition"] for name, condition in jifen["depends_on"].items()} == {
        "postgres": "service_healthy", "redis": "service_healthy"}
    assert all("healthcheck" in services[name] for name in ("postgres", "redis"))


def test_the_image_runs_without_privileges_and_checks_its_health():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert final_stage.startswith("python:3.11-slim")
    assert re.search(r"^USER (?!root\b)\w+", final_stage, re.MULTILINE)
    assert "HEALTHCHECK" in final_stage and "/healthz" in final_stage
    copied = set(re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE)) - {"--from=build"}
    # every package the wheel is built from is in the build context
    assert {"api", "domain", "persistence", "web", "pyproject.toml"} <= copied
