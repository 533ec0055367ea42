"""What tests/infra needs to read IAM out of the template: the offline SAM transform (policy
templates such as DynamoDBCrudPolicy only become statements there) and the wildcard rule.

The rule, applied to identity policies (the functions' roles and any IAM policy):
- no bare `*` action and no `service:*` action, nor a wildcard in the service part;
- a wildcard *after a verb* is allowed: `sqs:SendMessage*` (what SAM's SQSSendMessagePolicy
  grants; it matches SendMessage only, since SendMessageBatch is authorised by sqs:SendMessage)
  and `kms:GenerateDataKey*` name one operation family, not a service;
- no `*` resource, nor an ARN whose resource part is only `*`;
- no NotAction or NotResource (they grant everything they do not name).
Resource policies (the KMS key policy, topic policies) are not identity policies: in a key
policy `Resource: "*"` means "this key", so they are checked by their own tests.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any
from unittest import mock

from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

PLACEHOLDER_CODE_URI = "s3://placeholder/key"
IAM_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


class _NoManagedPolicyLookups(ManagedPolicyLoader):
    """The template names no managed policy; the translator's bundled map covers the ones SAM
    attaches itself. Anything else would need IAM, which an offline test must not call."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        raise AssertionError("the SAM transform wanted to look up a managed policy in IAM")


def sam_transform(template: Mapping[str, Any]) -> dict[str, Any]:
    """template.yaml as CloudFormation would get it after AWS::Serverless-2016-10-31, offline."""
    fragment: dict[str, Any] = json.loads(json.dumps(template))  # plain dicts, a private copy
    function_globals = fragment.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = PLACEHOLDER_CODE_URI
    for resource in fragment["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in props:
                props[key] = PLACEHOLDER_CODE_URI
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": "us-east-1"}):
        result: dict[str, Any] = transform(fragment, {}, _NoManagedPolicyLookups())
    return result


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def identity_statements(transformed: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owning logical id, statement) for every inline statement of every role and IAM policy."""
    for logical, resource in transformed["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif resource["Type"] in IAM_POLICY_TYPES:
            documents = [props["PolicyDocument"]]
        for document in documents:
            for statement in as_list(document["Statement"]):
                yield logical, statement


def action_problem(action: str) -> str | None:
    service, _, name = action.partition(":")
    if action == "*" or not name:
        return f"action {action!r} is every action"
    if any(c in service for c in "*?"):
        return f"action {action!r} has a wildcard service"
    if not re.match(r"[A-Za-z]", name):
        return f"action {action!r} is every action of {service}"
    return None


def resource_problem(resource: Any) -> str | None:
    text = resource.get("Fn::Sub") if isinstance(resource, dict) else resource
    text = text[0] if isinstance(text, list) else text
    if not isinstance(text, str):
        return None  # Ref / GetAtt: one named resource
    if text == "*":
        return "resource '*'"
    arn = re.sub(r"\$\{[^}]+\}", "x", text)  # ${AWS::Region} would split like two fields
    if arn.startswith("arn:") and arn.split(":", 5)[-1] in ("*", ""):
        return f"resource {text!r} is every resource of its service"
    return None


def wildcard_problems(statement: Mapping[str, Any]) -> list[str]:
    if statement.get("Effect") != "Allow":
        return []  # a wildcard in a Deny only takes away
    problems = [
        f"{key} grants all it does not name" for key in ("NotAction", "NotResource") if key in statement
    ]
    problems += [p for a in as_list(statement.get("Action", [])) if (p := action_problem(a))]
    problems += [p for r in as_list(statement.get("Resource", [])) if (p := resource_problem(r))]
    return problems


def references(value: Any) -> set[str]:
    """Logical ids an expression points at: Ref, GetAtt and the ${...} of Sub (and its variables)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref":
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else arg.split(".", 1)[0])
            elif key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                tokens = {t.split(".", 1)[0] for t in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= {t for t in tokens if t not in variables and not t.startswith("AWS::")}
                found |= references(list(variables.values()))
            else:
                found |= references(arg)
    return found


def allows(statement: Mapping[str, Any], action: str) -> bool:
    """Whether an Allow statement's Action patterns cover `action` (IAM matches case-insensitively)."""
    if statement.get("Effect") != "Allow":
        return False
    return any(
        fnmatchcase(action.lower(), pattern.lower()) for pattern in as_list(statement.get("Action", []))
    )
