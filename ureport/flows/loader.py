"""Reading flow YAML: schema then semantic checks, errors naming file, node and field, compiled to a Flow."""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ureport.flows.compiler import Compiler, FlowError, Raw
from ureport.flows.model import Flow

__all__ = [
    "FlowError",
    "load_flow_file",
    "load_flow_text",
    "node_types",
    "read_yaml",
    "schema",
    "shipped_flow_path",
]

SCHEMA_PATH = Path(__file__).with_name("poll.schema.json")
SHIPPED_DIR = Path(__file__).with_name("shipped")


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML with YAML 1.2 booleans (so `no`, `yes` and `on` stay strings) and no duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the base class reports unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


_BOOL = "tag:yaml.org,2002:bool"
_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_flow_text(text: str, *, source: str = "<string>") -> Flow:
    """Compile flow YAML; `source` names the file in errors."""
    try:
        data = read_yaml(text)
    except yaml.YAMLError as error:
        where = " ".join(str(error).split()).replace('in "<unicode string>", ', "")
        raise FlowError(f"not valid YAML: {where}", file=source) from error
    if not isinstance(data, dict):
        raise FlowError("a flow must be a mapping of keys (slug, kind, nodes...)", file=source)
    _check_schema(data, source)
    return Compiler(data, text=text, file=source).flow()


def read_yaml(text: str) -> Any:
    """Flow YAML as plain data: YAML 1.2 booleans, duplicate keys refused (raises yaml.YAMLError)."""
    return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a SafeLoader subclass


def load_flow_file(path: str | Path) -> Flow:
    path = Path(path)
    return load_flow_text(path.read_text(encoding="utf-8"), source=path.name)


def shipped_flow_path(name: str) -> Path:
    """The path of a flow shipped with ureport, e.g. shipped_flow_path("registration")."""
    return SHIPPED_DIR / f"{name}.yaml"


@cache
def schema() -> Mapping[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def node_types() -> tuple[str, ...]:
    """Every node `type` the authoring format knows, as the schema lists them."""
    return tuple(schema()["$defs"]["node"]["properties"]["type"]["enum"])


def _check_schema(data: Raw, file: str) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return
    path: list[str | int] = list(error.absolute_path)
    node = None
    if len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int):
        raw = data["nodes"][path[1]]
        node_id = raw.get("id") if isinstance(raw, dict) else None
        node = node_id if isinstance(node_id, str) else f"#{path[1] + 1}"
        path = path[2:]
    message = error.message
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        path.append(next(key for key in error.validator_value if key not in instance))
        message = "is required"
    elif error.validator == "additionalProperties":
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        path.append(sorted(str(key) for key in instance if key not in known)[0])
        message = "is not a known key here"
    elif error.validator == "oneOf" and error.schema == schema()["$defs"]["texts"]:
        message = "must be a text, or a mapping from language code to text"
    raise FlowError(message, file=file, node=node, field=_dotted(path) or None)


def _dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
