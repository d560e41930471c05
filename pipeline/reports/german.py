"""German number formatting and grammar for report texts: "85,7 %", "eine Bedarfsgemeinschaft", "keine Hilfen".

Pure functions, no report state: the narrative, the PDF and the Word draft format figures the same way.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from pipeline.reports.disclosure import Suppressed


def de_date(d: dt.date | None) -> str:
    return d.strftime("%d.%m.%Y") if d else "–"


def _group(text: str) -> str:
    """Python's 1,234.5 → German 1.234,5."""
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def fmt_number(v, unit: str = "count", public: bool = False, empty: str = "–") -> str:
    """German number formatting: 1.234 / 85,7 % / 12,3; suppressed cells show their symbol, empty shows '–'."""
    if isinstance(v, Suppressed):
        return str(v)
    if v is None or (isinstance(v, float) and v != v):
        return empty
    if isinstance(v, (dt.date, dt.datetime)):
        return de_date(v)
    if unit == "share":
        s = f"{v * 100:,.0f} %" if public else f"{v * 100:,.1f} %"
    elif unit == "count" and float(v).is_integer():
        s = f"{v:,.0f}"
    else:
        s = f"{v:,.1f}"
    return _group(s)


def percent(share: float, public: bool = False) -> str:
    """A share (0.857) as German percent: "85,7 %" (public: whole percent, "86 %")."""
    return fmt_number(share, "share", public)


def points(diff: float) -> str:
    """A difference of two shares in percentage points, signed: "+5,0 Prozentpunkte"."""
    return ("+" if diff > 0 else "") + _group(f"{diff * 100:,.1f}") + " Prozentpunkte"


def signed(v: float, unit: str) -> str:
    if unit == "share":
        return points(v)
    return ("+" if v > 0 else "") + fmt_number(v, unit)


def over(share: float, public: bool = False, step: int = 5) -> str | None:
    """ "über 85 %" where that is true: the largest multiple of ``step`` below the share.

    For a public (whole-percent) figure the exact share may be up to half a point lower than the published one, so
    the bound stays below ``published - 0.5``. None when no such bound exists (share below ``step`` %) or when the
    figure itself is a multiple of ``step``.
    """
    shown = round(share * 100) if public else round(share * 100, 1)
    if shown % step == 0:
        return None  # a round figure reads better as it is ("50,0 %"), not as "über 45 %"
    pct = round(share * 100) - 0.5 if public else share * 100
    bound = math.ceil(pct / step) * step - step  # the largest multiple of step strictly below pct
    if bound < step:
        return None
    return f"über {bound} %"


@dataclass(frozen=True)
class Noun:
    """A countable German noun: singular and plural, its article for "ein/eine", optional dative plural."""

    singular: str
    plural: str
    feminine: bool = True  # eine/keine; False: ein/kein (masculine and neuter)

    def count(self, n: float | int | None) -> str:
        """ "keine Bedarfsgemeinschaften", "eine Bedarfsgemeinschaft", "30 Bedarfsgemeinschaften"."""
        n = int(n or 0)
        if n == 0:
            return f"keine {self.plural}"
        if n == 1:
            return f"{'eine' if self.feminine else 'ein'} {self.singular}"
        return f"{fmt_number(n)} {self.plural}"

    def count_dative(self, n: float | int | None, dative_plural: str | None = None) -> str:
        """ "in einer Bedarfsgemeinschaft", "in 30 Bedarfsgemeinschaften" (after a preposition with dative)."""
        n = int(n or 0)
        plural = dative_plural or self.plural
        if n == 0:
            return f"keinen {plural}"
        if n == 1:
            return f"{'einer' if self.feminine else 'einem'} {self.singular}"
        return f"{fmt_number(n)} {plural}"


def verb(n: float | int | None, singular: str, plural: str) -> str:
    """The verb form agreeing with a count phrase of :meth:`Noun.count` ("wurde"/"wurden"): 0 takes the plural."""
    return singular if int(n or 0) == 1 else plural


def join(items: list[str]) -> str:
    """ "a, b und c"."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " und " + items[-1]


# nouns the drafted texts count
HOUSEHOLD = Noun("Bedarfsgemeinschaft", "Bedarfsgemeinschaften")
PERSON = Noun("Person", "Personen")
CHILD = Noun("Kind", "Kinder", feminine=False)
HELP = Noun("Hilfe", "Hilfen")
WOMAN = Noun("Frau", "Frauen")
MAN = Noun("Mann", "Männer", feminine=False)
