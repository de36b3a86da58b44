"""Project roles, ordered by what they may do: annotator < reviewer < manager < owner.

A role is held per project (a membership). Each role may do everything the roles below it may,
so a permission is "at least this role", checked by ``Role.at_least``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    """A member's role in one project, lowest first.

    Example:
        >>> Role.MANAGER.at_least(Role.REVIEWER), Role.ANNOTATOR.at_least("manager")
        (True, False)
    """

    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    MANAGER = "manager"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        """0 for annotator up to 3 for owner."""
        return list(Role).index(self)

    def at_least(self, other: Role | str) -> bool:
        """True when this role may do what ``other`` may."""
        return self.rank >= Role(other).rank
