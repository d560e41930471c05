"""The public Jahresrückblick: a short press-style paragraph from disclosure-controlled figures only.

Written as ``jahresrueckblick.txt`` into the ``oeffentlich`` set and printed as a page of the public PDF; the
Word draft quotes it as a suggestion for the press chapter. Every figure comes from
:func:`figures.public_key_figures` (small counts hidden, shares whole percent on a large enough base); a hidden
figure leaves its sentence out rather than hinting at it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.reports.disclosure import Rules, Suppressed
from pipeline.reports.figures import Lookup, public_key_figures
from pipeline.reports.german import CHILD, HELP, HOUSEHOLD, PERSON, de_date, over, percent, verb

FILE_NAME = "jahresrueckblick.txt"


@dataclass
class PublicText:
    title: str
    paragraph: str
    footer: list[str]

    def text(self) -> str:
        return "\n\n".join([self.title, self.paragraph, *self.footer]) + "\n"


def _shown(v) -> bool:
    return v is not None and not isinstance(v, Suppressed) and v == v


def public_text(lk: Lookup, rules: Rules, frame, funding_note: str) -> PublicText:
    """The paragraph for the public: ``frame`` is a :class:`narrative.Frame`, ``rules`` the public rules."""
    pub = {r.id: r for r in public_key_figures(lk, rules)}

    def val(ind: str):
        r = pub.get(ind)
        return r.value if r is not None else None

    when = f"Projektjahr {frame.period_id}" if frame.kind == "cycle" else \
        f"Zeitraum {de_date(frame.start)} bis {de_date(frame.end)}"
    title = f"{frame.project} bei {frame.carrier}: Rückblick auf das {when}"
    s = []
    k01 = val("K01")
    where = HOUSEHOLD.count_dative(k01, "Bedarfsgemeinschaften") if _shown(k01) else "wenigen Bedarfsgemeinschaften"
    if _shown(k01) and k01 == 0:
        s.append(f"Im {when} hat die Begleitung durch {frame.project} noch nicht begonnen.")
    else:
        s.append(f"Im {when} konnte die Unterstützung durch {frame.project} in {where} greifen.")
    k03, k04 = val("K03"), val("K04")
    if _shown(k03) and k03 > 1:
        part = f"Erreicht wurden {PERSON.count(k03)}"
        if _shown(k04):
            part += f", darunter {CHILD.count(k04)}"
        s.append(part + ".")
    k05 = val("K05")
    if _shown(k05) and k05 > 0:
        lead = over(k05, public=True)
        s.append(f"In {lead if lead else percent(k05, public=True)} der Familien konnten Hilfen eingeleitet werden.")
    k06 = val("K06")
    if _shown(k06) and k06:
        s.append(f"Insgesamt {verb(k06, 'wurde', 'wurden')} {HELP.count(k06)} auf den Weg gebracht.")
    k10 = val("K10")
    if _shown(k10) and k10 > 0:
        s.append(f"Von den Teilnehmenden, die das Projekt bereits verlassen haben, fanden {percent(k10, public=True)} "
                 "den Weg in Arbeit oder Ausbildung.")
    elif "K10" in pub and k10 is None:  # no leavers yet: the share is empty
        s.append("Über Austritte und Verbleib berichten wir, sobald die ersten Familien das Projekt abgeschlossen "
                 "haben.")
    footer = [f"Stand der Daten: {de_date(frame.data_state)}. Kleine Fallzahlen sind aus Gründen des Datenschutzes "
              "nicht genannt; Anteile sind auf ganze Prozent gerundet.", f"{funding_note}."]
    return PublicText(title, " ".join(s), footer)
