"""Schema evolution: a field, argument, enum value or type leaves schema.graphql only after a release
that marked it @deprecated (docs/graphql-over-http.md#schema-evolution). schema-releases/ keeps the
schema of each release; CHANGELOG.md names each release."""
import re
from pathlib import Path

from graphql import (BreakingChangeType, GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType,
                     GraphQLObjectType, GraphQLSchema, build_schema, find_breaking_changes, get_named_type)

ROOT = Path(__file__).resolve().parents[1]
RELEASES = ROOT / "schema-releases"
# graphql-core's wording: "Field Query.old was removed.", "Enum value Colour.BLUE was removed.",
# "Item was removed.", "Standard scalar ID was removed because it is not referenced anymore."
REMOVED_MEMBER = re.compile(r"(\w+)\.(\w+) was removed")
REMOVED_TYPE = re.compile(r"(\w+) was removed")


def version_of(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.stem.split("."))


def latest_release() -> Path:
    return max(RELEASES.glob("*.graphql"), key=version_of)


def deprecated_field(schema: GraphQLSchema, type_name: str, field_name: str) -> bool:
    named = schema.get_type(type_name)
    fields = named.fields if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)) \
        else {}
    return field_name in fields and fields[field_name].deprecation_reason is not None


def only_gone_ways_lead_to(released: GraphQLSchema, current: GraphQLSchema, type_name: str) -> bool:
    """A type may go once every field that returned it or took it went the deprecated way, or went
    with a type that itself went."""
    for named in released.type_map.values():
        if named.name.startswith("__") or not hasattr(named, "fields"):
            continue
        for field in named.fields.values():
            uses = get_named_type(field.type).name == type_name or any(
                get_named_type(argument.type).name == type_name for argument in getattr(field, "args", {}).values())
            if uses and field.deprecation_reason is None and named.name in current.type_map:
                return False
    return True


def unannounced_breaking_changes(released: GraphQLSchema, current: GraphQLSchema) -> list[str]:
    unannounced = []
    for change in find_breaking_changes(released, current):
        if change.type is BreakingChangeType.FIELD_REMOVED:
            type_name, field_name = REMOVED_MEMBER.search(change.description).groups()
            if deprecated_field(released, type_name, field_name):
                continue
        elif change.type is BreakingChangeType.VALUE_REMOVED_FROM_ENUM:
            type_name, value = REMOVED_MEMBER.search(change.description).groups()
            enum = released.get_type(type_name)
            if isinstance(enum, GraphQLEnumType) and enum.values[value].deprecation_reason is not None:
                continue
        elif change.type is BreakingChangeType.TYPE_REMOVED:
            if only_gone_ways_lead_to(released, current, REMOVED_TYPE.search(change.description).group(1)):
                continue
        unannounced.append(change.description)
    return unannounced


def test_nothing_leaves_the_schema_without_a_release_that_deprecated_it():
    released = build_schema(latest_release().read_text(encoding="utf-8"))
    current = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    assert unannounced_breaking_changes(released, current) == [], (
        f"breaking changes against {latest_release().name}: deprecate first, remove in a later release")


def test_the_rule_lets_a_deprecated_field_go_and_stops_any_other_break():
    released = build_schema('''type Query { kept: Int, old: Int @deprecated(reason: "Use kept."), other: Int
                                           item: Item @deprecated(reason: "Gone.") }
                               type Item { id: ID }
                               enum Colour { RED BLUE @deprecated(reason: "No more blue.") }
                               input Filter { colour: Colour }
                               type Mutation { paint(filter: Filter): Int }''')
    allowed = build_schema('''type Query { kept: Int, other: Int }
                              enum Colour { RED }
                              input Filter { colour: Colour }
                              type Mutation { paint(filter: Filter): Int }''')
    assert unannounced_breaking_changes(released, allowed) == []
    broken = build_schema('''type Query { kept: String, old: Int, item: Item }
                             type Item { id: ID }
                             enum Colour { BLUE }
                             input Filter { colour: Colour, required: Int! }
                             type Mutation { paint(filter: Filter): Int }''')
    assert sorted(unannounced_breaking_changes(released, broken)) == sorted([
        "Field Query.kept changed type from Int to String.", "Field Query.other was removed.",
        "Enum value Colour.RED was removed.", "A required field Filter.required was added."])


def test_every_release_is_in_the_changelog():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE))
    released = {path.stem for path in RELEASES.glob("*.graphql")}
    assert released <= listed, released - listed
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    assert version in listed
