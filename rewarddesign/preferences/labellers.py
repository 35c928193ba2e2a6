"""Who labelled a pair: the labeller table every preference dataset carries.

A label's ``labeller`` id indexes the table of its dataset. A simulated labeller names
the persona (a task spec's ``personas:`` entry) whose reward it labels by; a human one
has none. Datasets saved before labellers existed load with one simulated labeller,
``"teacher"``, who gave every label.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from rewarddesign.errors import FileFormatError, ParameterError

KINDS = ("simulated", "human")


@dataclass(frozen=True)
class Labeller:
    """One entry of a dataset's labeller table.

    Attributes:
        name: Unique within the dataset (a user's or annotator's name).
        kind: ``"simulated"`` or ``"human"``.
        persona: For a simulated labeller, the persona it labels by (None: the task's
            own reward, as the single teacher of ``pbrl``); always None for a human.

    Example:
        >>> Labeller("user-3", persona="left")
        Labeller(name='user-3', kind='simulated', persona='left')
    """

    name: str
    kind: str = "simulated"
    persona: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError(f"labeller name must be a non-empty string, got {self.name!r}.")
        if self.kind not in KINDS:
            raise ParameterError(
                f"labeller {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}."
            )
        if self.kind == "human" and self.persona is not None:
            raise ParameterError(
                f"labeller {self.name!r} is human: a persona ({self.persona!r}) belongs to a "
                "simulated labeller only."
            )
        if self.persona is not None and not isinstance(self.persona, str):
            raise ParameterError(f"labeller {self.name!r}: persona must be a name or None.")


#: The table of a dataset whose labels came from one teacher (and of old files).
DEFAULT_TABLE = (Labeller("teacher"),)


def table_to_json(table: Sequence[Labeller]) -> str:
    """The table as a JSON list (what a dataset file stores)."""
    return json.dumps([asdict(entry) for entry in table])


def table_from_json(text: str, where: str) -> tuple[Labeller, ...]:
    """A table written by :func:`table_to_json`.

    Raises:
        FileFormatError: Not a JSON list of labellers with unique names.
    """
    try:
        table = tuple(Labeller(**entry) for entry in json.loads(text))
    except (json.JSONDecodeError, TypeError, ParameterError) as exc:
        raise FileFormatError(
            f"{where}: the labeller table is not a list of labellers: {exc}"
        ) from exc
    check_table(table, where, error=FileFormatError)
    return table


def check_table(
    table: Sequence[Labeller], where: str, error: type[Exception] = ParameterError
) -> None:
    """Refuse an empty table, an entry that is no :class:`Labeller` or a repeated name."""
    if not table or any(not isinstance(entry, Labeller) for entry in table):
        raise error(f"{where}: the labeller table must be a non-empty list of Labellers.")
    names = [entry.name for entry in table]
    if len(set(names)) != len(names):
        raise error(f"{where}: labeller names repeat: {names}; give each labeller its own.")
