"""Problems found in the inventory configuration, and the exceptions that carry them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is, what is wrong, and how to fix it."""

    file: str
    line: int | None
    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message} Fix: {self.fix}"


class InventoryError(Exception):
    """The configuration cannot be turned into an inventory; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        if len(self.problems) == 1:
            return f"inventory configuration error: {self.problems[0]}"
        lines = [f"{len(self.problems)} problems in the inventory configuration:"]
        lines.extend(f"- {problem}" for problem in self.problems)
        return "\n".join(lines)


class StateError(Exception):
    """The state file (openstack_inventory.json) cannot be used or written."""


class LockTimeoutError(StateError):
    """Another run holds the inventory lock for too long."""


class LockUnavailableError(StateError):
    """The lock file cannot be created (the directory is not writable for this user)."""


class Collector:
    """Collects problems so that one run reports all of them, not just the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, line: int | None, key: str, message: str, fix: str) -> None:
        self.problems.append(Problem(file, line, key, message, fix))

    def extend(self, problems: list[Problem]) -> None:
        self.problems.extend(problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InventoryError(self.problems)

    def __bool__(self) -> bool:
        return bool(self.problems)
