"""Fill the empty values of a flat ``user_secrets.yml`` with random secrets.

The file is a list of ``key: value`` lines with comments and blank lines in between, the way
OpenStack-Ansible ships it. It is rewritten line by line, so comments, blank lines and key
order survive; only the value part of a line that gets a new secret changes.

Pure logic only: no Ansible imports and no relative imports, so ``scripts/pw-token-gen.py``
can load this file by path. File access lives in :func:`update_file`, everything else works on
text. Nothing here prints or logs a secret value; error messages name the file, the line and
the key, never a value.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import os
import re
import secrets
import string
import tempfile
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

ALPHANUMERIC = string.ascii_letters + string.digits

# Length of a generated password. Alphanumeric only, so a value is safe in a URL (database
# connection strings), in an INI file and in a shell word without any quoting.
PASSWORD_LENGTH = 64

_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LINE_RE = re.compile(r"(?P<key>[^\s:#][^:]*?):(?P<after>[ \t].*)?")
_EMPTY_SCALARS = ("", "~", "null", "Null", "NULL", "''", '""')
_VAULT_HEADER = "$ANSIBLE_VAULT;"


class SecretsFileError(ValueError):
    """The secrets file cannot be handled; the message says where and how to fix it."""


# ---------------------------------------------------------------------------------------------
# Generators: one per form a consumer needs. Each returns a new value on every call.
# ---------------------------------------------------------------------------------------------


def gen_password(length: int = PASSWORD_LENGTH) -> str:
    """Letters and digits; ``length`` characters drawn with :mod:`secrets`."""
    return "".join(secrets.choice(ALPHANUMERIC) for _index in range(length))


def gen_fernet_key() -> str:
    """32 random bytes, URL-safe base64: the form ``cryptography.fernet.Fernet`` accepts."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def gen_erlang_cookie() -> str:
    """Erlang distribution cookie: upper-case letters and digits (RabbitMQ's own form)."""
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _index in range(PASSWORD_LENGTH))


def gen_uuid() -> str:
    """A random UUID (version 4), e.g. for a libvirt secret."""
    return str(uuid.uuid4())


def gen_keepalived_password() -> str:
    """keepalived's ``auth_pass`` uses only the first 8 characters; give it exactly 8."""
    return gen_password(8)


def gen_exact_32() -> str:
    """For consumers that require a key of exactly 32 characters (e.g. Heat's auth key)."""
    return gen_password(32)


@dataclasses.dataclass(frozen=True)
class Rule:
    """How a key is recognised (regular expression on its name) and what it gets."""

    pattern: str
    kind: str
    generator: Callable[[], str] | None


# First match wins. A ``None`` generator means "never generated here" (the key is reported as
# skipped and left as it is).
RULES: tuple[Rule, ...] = (
    Rule(r".*_ssh_key$", "ssh key (not generated here)", None),
    Rule(r".*_uuid$", "uuid4", gen_uuid),
    Rule(r".*fernet.*", "fernet key", gen_fernet_key),
    Rule(r"^rabbitmq_cookie_token$|.*_erlang_cookie$", "erlang cookie", gen_erlang_cookie),
    Rule(
        r".*keepalived.*(auth|password).*",
        "keepalived auth_pass (8 chars)",
        gen_keepalived_password,
    ),
    Rule(r"^heat_auth_encryption_key$", "32-character key", gen_exact_32),
    Rule(r".*", "password", gen_password),
)


def rule_for(key: str, rules: Iterable[Rule] = RULES) -> Rule:
    """Return the first rule whose pattern matches ``key``."""
    for rule in rules:
        if re.match(rule.pattern, key):
            return rule
    raise SecretsFileError(f"no generation rule matches key {key!r}")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Entry:
    """One ``key: value`` line of the file.

    ``value_text`` is the value as written (without any trailing comment), ``comment`` the
    trailing comment including its leading whitespace and ``#`` (empty when there is none).
    """

    index: int
    key: str
    value_text: str
    comment: str
    newline: str

    @property
    def lineno(self) -> int:
        return self.index + 1

    @property
    def is_empty(self) -> bool:
        return self.value_text in _EMPTY_SCALARS


def _split_newline(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body) :]


def _load_scalar(text: str) -> object:
    """The YAML value of ``text`` written after ``key:``; raises yaml.YAMLError."""
    return yaml.safe_load(f"k: {text}\n")["k"]


def _split_comment(after: str) -> tuple[str, str]:
    """Split what follows ``key:`` into the value text and the trailing comment.

    The comment keeps its leading whitespace, so a rewritten line keeps its alignment.
    """
    after = after.rstrip()
    value_start = len(after) - len(after.lstrip())
    if after[value_start:].startswith("#") or not after.strip():
        return "", after
    full = _load_scalar(after[value_start:])
    for match in re.finditer(r"[ \t]+#", after[value_start:]):
        left = after[value_start : value_start + match.start()]
        try:
            if _load_scalar(left) == full:
                return left, after[value_start + match.start() :]
        except yaml.YAMLError:
            continue
    return after[value_start:], ""


def _where(path: str, lineno: int) -> str:
    return f"{path}, line {lineno}"


def parse(text: str, path: str = "<string>") -> tuple[list[str], list[Entry]]:
    """Split ``text`` into its lines and the entries found on them.

    Raises :class:`SecretsFileError` for anything that is not a comment, a blank line, the
    ``---`` document start or a one-line ``key: scalar``. Messages never repeat a value.
    """
    if text.lstrip().startswith(_VAULT_HEADER):
        raise SecretsFileError(
            f"{path} is encrypted with ansible-vault. Decrypt it first "
            f"(ansible-vault decrypt {path}), run this again, then encrypt it again."
        )
    lines = text.splitlines(keepends=True)
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    content_started = False
    for index, line in enumerate(lines):
        body, newline = _split_newline(line)
        stripped = body.strip()
        lineno = index + 1
        if not stripped or stripped.startswith("#"):
            continue
        if body.rstrip() == "---" and not content_started:
            content_started = True
            continue
        content_started = True
        if body[0] in " \t":
            raise SecretsFileError(
                f"{_where(path, lineno)}: indented line. This file holds one 'key: value' per "
                "line starting in the first column (no nested mappings, lists or multi-line "
                "values); move the line to the first column or remove it."
            )
        match = _LINE_RE.fullmatch(body)
        if match is None:
            raise SecretsFileError(
                f"{_where(path, lineno)}: expected 'key: value' (or 'key:' to have a value "
                "generated); fix or remove the line."
            )
        key = match.group("key")
        if not _KEY_RE.fullmatch(key):
            raise SecretsFileError(
                f"{_where(path, lineno)}: key {key!r} is not a plain variable name (letters, "
                "digits and underscores, not starting with a digit, no quotes); rename it."
            )
        if key in seen:
            raise SecretsFileError(
                f"{_where(path, lineno)}: key {key!r} is already set on line {seen[key]}; "
                "remove one of the two lines."
            )
        seen[key] = lineno
        after = match.group("after") or ""
        if after.lstrip()[:1] in ("|", ">", "!", "&", "*", "[", "{"):
            raise SecretsFileError(
                f"{_where(path, lineno)}: the value of {key!r} must be a plain one-line string "
                "(no block scalar, tag, anchor, alias, list or mapping); write it on one line, "
                "in single quotes if needed, or leave it empty to have it generated."
            )
        try:
            value_text, comment = _split_comment(after)
            if value_text:
                _load_scalar(value_text)
        except yaml.YAMLError:
            raise SecretsFileError(
                f"{_where(path, lineno)}: the value of {key!r} is not a valid YAML scalar; "
                "quote it with single quotes (and double any single quote inside it)."
            ) from None
        entries.append(Entry(index, key, value_text, comment, newline))
    return lines, entries


# ---------------------------------------------------------------------------------------------
# Filling
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    """What :func:`fill` did. ``generated`` maps key -> new value (the caller must not print
    the values); the other fields only hold key names."""

    text: str
    generated: dict[str, str]
    kept: list[str]
    skipped: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.generated)


def _quote(value: str) -> str:
    # Generated values never contain a single quote; quoting keeps YAML from reading an
    # all-digit value as a number or a word like "on" as a boolean.
    return f"'{value}'"


def fill(text: str, regen: bool = False, path: str = "<string>") -> Result:
    """Return ``text`` with every empty value (every value when ``regen``) replaced.

    Keys whose rule has no generator (SSH keys) are never touched and listed as skipped.
    """
    lines, entries = parse(text, path)
    new_lines = list(lines)
    generated: dict[str, str] = {}
    kept: list[str] = []
    skipped: list[str] = []
    for entry in entries:
        rule = rule_for(entry.key)
        if rule.generator is None:
            skipped.append(entry.key)
            continue
        if not entry.is_empty and not regen:
            kept.append(entry.key)
            continue
        value = rule.generator()
        generated[entry.key] = value
        new_lines[entry.index] = f"{entry.key}: {_quote(value)}{entry.comment}{entry.newline}"
    new_text = "".join(new_lines)
    if generated:
        _check_result(new_text, generated, path)
    return Result(new_text, generated, kept, skipped)


def _check_result(text: str, generated: dict[str, str], path: str) -> None:
    """Re-read the new text as YAML and make sure every generated value reads back as is."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise SecretsFileError(
            f"{path}: the rewritten file would not be valid YAML; nothing was written. "
            "Please report this as a bug."
        ) from None
    wrong = sorted(
        k for k, v in generated.items() if not isinstance(data, dict) or data.get(k) != v
    )
    if wrong:
        raise SecretsFileError(
            f"{path}: generated values of {', '.join(wrong)} would not read back unchanged; "
            "nothing was written. Please report this as a bug."
        )


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


SECRET_MODE = 0o600


def backup_path(path: Path, now: datetime.datetime | None = None) -> Path:
    """A free ``<name>.<UTC timestamp>.bak`` path next to ``path``; names sort by age."""
    now = now or datetime.datetime.now(datetime.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")
    candidate = path.with_name(f"{path.name}.{stamp}.bak")
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{stamp}.{counter}.bak")
        counter += 1
    return candidate


def _write_private(path: Path, data: str, mode: int = SECRET_MODE) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, fsync, rename)
    with ``mode``; the temporary file is never readable by others."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            os.fchmod(handle.fileno(), mode)
            _copy_owner(path, handle.fileno())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _copy_owner(source: Path, fd: int) -> None:
    """Give the new file the owner of the one it replaces (only possible as root)."""
    try:
        stat = source.stat()
        if (stat.st_uid, stat.st_gid) != (os.getuid(), os.getgid()):
            os.fchown(fd, stat.st_uid, stat.st_gid)
    except (FileNotFoundError, PermissionError):
        pass


@dataclasses.dataclass
class FileResult:
    """What :func:`update_file` did (key names and paths only, no values)."""

    path: Path
    result: Result
    backup: Path | None


def update_file(path: str | Path, regen: bool = False) -> FileResult:
    """Fill ``path`` in place. Backs the old file up first; writes nothing when unchanged."""
    given = Path(path)
    real = given.resolve()
    try:
        text = real.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SecretsFileError(
            f"{given}: file not found. Copy the example first: "
            f"cp etc/openstack_deploy/user_secrets.yml {given}"
        ) from None
    except IsADirectoryError:
        raise SecretsFileError(f"{given} is a directory; give the secrets file.") from None
    except PermissionError:
        raise SecretsFileError(f"{given}: permission denied; run as its owner (root).") from None
    except UnicodeDecodeError as exc:
        raise SecretsFileError(
            f"{given}: not UTF-8 text (byte {exc.start}); is this the right file?"
        ) from None
    result = fill(text, regen=regen, path=str(given))
    backup = None
    if result.changed:
        backup = backup_path(real)
        _write_private(backup, text)
        _write_private(real, result.text)
    return FileResult(real, result, backup)
