"""Statistical disclosure control for public outputs (outputs.md, "Audiences and disclosure control").

Rules for the audience ``oeffentlich``:

* a count 1 .. threshold-1 is replaced by the symbol (threshold_special for special categories);
* a share is shown only where the denominator is ≥ min_share_base and neither the count nor its complement
  (denominator − count) is below the threshold; shares are rounded to whole percent;
* secondary suppression: in every additive group (parts + total) a single hidden cell would be recomputable
  from the total, so the next smallest part is hidden as well, repeated until no group has exactly one
  unknown. A total that is larger than the sum of its shown parts has an unpublished remainder; the remainder
  counts as a cell of that group (hidden when it is small).

``intern`` and ``foerdergeber`` see exact figures; nothing here changes them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

AUDIENCES = ("intern", "foerdergeber", "oeffentlich")

AUDIENCE_LABELS = {
    "intern": "Intern – nur für den Dienstgebrauch im Projekt",
    "foerdergeber": "Für die Fördergeber (exakte Werte)",
    "oeffentlich": "Öffentlich (mit Geheimhaltung kleiner Fallzahlen)",
}


class Suppressed:
    """Marker for a hidden cell; rendered as the configured symbol."""

    def __init__(self, symbol: str = "*") -> None:
        self.symbol = symbol

    def __repr__(self) -> str:
        return f"Suppressed({self.symbol!r})"

    def __str__(self) -> str:
        return self.symbol

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Suppressed)

    def __hash__(self) -> int:
        return hash("Suppressed")


@dataclass(frozen=True)
class Rules:
    """Thresholds from ``config.disclosure``; ``active`` is False for exact audiences."""

    active: bool
    threshold: int = 3
    threshold_special: int = 5
    min_share_base: int = 10
    symbol: str = "*"

    @classmethod
    def for_audience(cls, config, audience: str) -> Rules:
        if audience not in AUDIENCES:
            raise ValueError(f"unknown audience {audience!r} (use {', '.join(AUDIENCES)})")
        d = config.disclosure
        return cls(
            active=audience == "oeffentlich",
            threshold=d.threshold,
            threshold_special=d.threshold_special,
            min_share_base=d.min_share_base,
            symbol=d.symbol,
        )

    @property
    def hidden(self) -> Suppressed:
        return Suppressed(self.symbol)

    def limit(self, special: bool) -> int:
        return self.threshold_special if special else self.threshold

    def is_small(self, n: float | None, special: bool = False) -> bool:
        """A count that must not be published (1 .. threshold-1)."""
        return self.active and n is not None and 0 < n < self.limit(special)

    def count(self, n: float | None, special: bool = False) -> float | Suppressed | None:
        """Primary suppression of one count."""
        return self.hidden if self.is_small(n, special) else n

    def share(
        self, numerator: float | None, denominator: float | None, value: float | None, special: bool = False
    ) -> float | Suppressed | None:
        """A share as published: exact for exact audiences; public only with a large enough base, whole percent."""
        if not self.active:
            return value
        if value is None or numerator is None or denominator is None:
            return None
        t = self.limit(special)
        if denominator < self.min_share_base or numerator < t or denominator - numerator < t:
            return self.hidden
        return round(value * 100) / 100

    def footnote(self) -> str:
        if not self.active:
            return ""
        return (
            f"{self.symbol} = aus Gründen des Datenschutzes nicht ausgewiesen: Fallzahlen von 1 bis "
            f"{self.threshold - 1} (bei besonderen Kategorien personenbezogener Daten – Behinderung, Minderheit, "
            f"Fluchthintergrund, Gesundheitshilfen, Hilfe zur Erziehung – von 1 bis {self.threshold_special - 1}) "
            "sowie Werte, aus denen sich solche Fallzahlen über Summen errechnen ließen. Anteile werden nur bei "
            f"einer Basis von mindestens {self.min_share_base} Fällen und gerundet auf ganze Prozent ausgewiesen."
        )


def suppress_groups(
    cells: Mapping[Hashable, float | None],
    groups: Iterable[tuple[Hashable, list[Hashable]]],
    rules: Rules,
    special: Mapping[Hashable, bool] | None = None,
) -> set[Hashable]:
    """Keys of the cells to hide: primary (small counts) plus secondary (complementary) suppression.

    ``cells`` maps a key to its count; ``groups`` lists additive relations ``(total_key, [part_keys])``:
    total = Σ parts (+ an unpublished remainder when the parts do not add up). Keys may be anything hashable
    (e.g. ``(indicator_id, category)``). The remainder of a group is a pseudo-cell that is never shown:
    when it is small it counts as hidden, otherwise as known.
    """
    if not rules.active:
        return set()
    special = special or {}
    hidden = {k for k, v in cells.items() if rules.is_small(v, special.get(k, False))}
    groups = [(t, list(p)) for t, p in groups if t in cells]
    changed = True
    while changed:
        changed = False
        for total_key, parts in groups:
            parts = [p for p in parts if p in cells]
            total = cells[total_key] or 0
            remainder = total - sum(cells[p] or 0 for p in parts)
            remainder_hidden = remainder > 0 and rules.is_small(remainder, special.get(total_key, False))
            unknown = sum(1 for k in [total_key, *parts] if k in hidden) + (1 if remainder_hidden else 0)
            if unknown != 1:
                continue
            # exactly one unknown in the equation: hide the smallest positive visible part (else the total)
            candidates = sorted(
                (cells[p] or 0, str(p), p) for p in parts if p not in hidden and (cells[p] or 0) > 0
            )
            if candidates:
                hidden.add(candidates[0][2])
            elif total_key not in hidden:
                hidden.add(total_key)
            else:  # nothing left to hide: the unknown is only the remainder, which is not shown anyway
                continue
            changed = True
    return hidden
