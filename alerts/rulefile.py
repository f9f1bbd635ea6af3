"""The version-controlled rule file: read and validate it, then bring the store's rules in line with it.

Boundary: YAML in, validated ``RuleSet`` out (errors name the YAML path and the rule id); the sync writes
through ``synopse.db.alerts`` in the caller's transaction and records every change it makes. A rule edited in
the platform is kept at the next start unless the file's own version of that rule changed since.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from psycopg import Connection

from synopse.db import alerts as db
from synopse.domain.alerts import RuleError, RuleSet, parse_rule_set, rule_document


def default_rules_path() -> Path:
    """The default rules of the Nantes territory, shipped with the package."""
    return Path(str(resources.files("alerts") / "rules.yaml"))


def read_rule_file(path: Path) -> RuleSet:
    """Parse and validate a rule file, or raise RuleError naming every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"cannot read {path}: {exc}") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return parse_rule_set(document)
    except RuleError as exc:
        raise RuleError(f"{path}: {exc}") from exc


def definition_hash(definition: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept_platform_edits: list[str] = field(default_factory=list)
    unchanged: int = 0


def sync_rules(conn: Connection[Any], rule_set: RuleSet, *, actor: str) -> SyncReport:
    """Make the store's file-sourced rules match the file; record each change under ``actor``."""
    report = SyncReport()
    stored = {rule.rule_id: rule for rule in db.load_rules(conn)}
    in_file = set()
    for rule in rule_set.rules:
        in_file.add(rule.id)
        definition = rule_document(rule)
        digest = definition_hash(definition)
        current = stored.get(rule.id)
        if current is not None and current.source == "platform" and current.file_hash == digest:
            report.kept_platform_edits.append(rule.id)
            continue
        action = db.upsert_rule(conn, rule_id=rule.id, kind=rule.kind, definition=definition, enabled=rule.enabled,
                                source="file", actor=actor, file_hash=digest, comment="rule file")
        if action == "create":
            report.created.append(rule.id)
        elif action is None:
            report.unchanged += 1
        else:
            report.updated.append(rule.id)
    for rule_id, current in stored.items():
        if current.source == "file" and rule_id not in in_file:
            db.delete_rule(conn, rule_id, actor=actor, source="file", comment="removed from the rule file")
            report.deleted.append(rule_id)
    return report
