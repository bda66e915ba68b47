"""Project guards: the committed schema matches the code, and the domain stays pure."""
import subprocess
import sys
from pathlib import Path

from api.execution.schema import build_schema, sdl

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_matches_the_code():
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == sdl(), "schema.graphql is stale: run `jifen schema -o schema.graphql`"


def test_import_contracts_hold():
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout


def graphql_blocks():
    """Every ```graphql block of the user documentation, named by file and line."""
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = path.read_text(encoding="utf-8").splitlines()
        start = None
        for number, line in enumerate(lines, 1):
            if start is None and line.strip() == "```graphql":
                start = number
            elif start is not None and line.strip() == "```":
                yield f"{path.name}:{start}", "\n".join(lines[start:number - 1])
                start = None


def test_every_graphql_example_in_the_docs_is_valid_against_the_schema():
    """A block may list several operations, each one sent on its own: each is validated alone."""
    from graphql import DocumentNode, FragmentDefinitionNode, GraphQLError, parse, validate

    schema = build_schema()._schema
    blocks = list(graphql_blocks())
    assert len(blocks) >= 20  # the docs hold examples: a broken fence would hide them from this test
    problems = {}
    for where, text in blocks:
        try:
            document = parse(text)
        except GraphQLError as error:
            problems[where] = [error.message]
            continue
        fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
        for operation in (d for d in document.definitions if not isinstance(d, FragmentDefinitionNode)):
            errors = validate(schema, DocumentNode(definitions=(operation, *fragments)))
            problems.setdefault(where, []).extend(e.message for e in errors)
    assert {where: errors for where, errors in problems.items() if errors} == {}


def test_every_user_error_code_is_listed_in_the_docs():
    from domain.errors import ErrorCode
    listed = (ROOT / "docs" / "graphql-over-http.md").read_text()
    assert [code.value for code in ErrorCode if f"`{code.value}`" not in listed] == []
