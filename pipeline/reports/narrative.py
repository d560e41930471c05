"""Drafted German text of the Sachbericht, built from the figures of one run (pure functions, no Word).

Rules (issue 14): every number in a sentence is a figure of the run's indicator table (or a configured target, or
the report's own period and data state); one, none and many are grammatical ("eine Bedarfsgemeinschaft",
"keine", "30 Bedarfsgemeinschaften"); shares are German ("85,7 %"); "über 85 %" only where true; nothing the
figures do not show (no leavers yet: a note that none are due, no sentence about transitions). What the sentences
stand on (:class:`Frame`, :class:`Figures`, :class:`Chapter`) is in :mod:`pipeline.reports.narrative_frame`.
"""

from __future__ import annotations

from pipeline.reports.figures import Lookup
from pipeline.reports.german import (
    CHILD,
    HELP,
    HOUSEHOLD,
    MAN,
    PERSON,
    WOMAN,
    fmt_number,
    join,
    over,
    percent,
    verb,
)
from pipeline.reports.narrative_frame import (
    ESF_DISABILITY_ID,
    ESF_FOLLOWUP_ID,
    ESF_JOB_ID,
    Chapter,
    Figures,
    Frame,
)
from pipeline.reports.targets import TargetRow, fmt_target


def days(v: float) -> str:
    """Median days: whole days as they are, else one decimal ("320", "20,5")."""
    return fmt_number(v, "count" if float(v).is_integer() else "days")


def someone(n: int, capital: bool = False) -> str:
    """The subject of a sentence about n persons: "niemand" (verb singular), "eine Person", "5 Personen"."""
    text = "niemand" if n == 0 else ("eine Person" if n == 1 else f"{fmt_number(n)} Personen")
    return text[0].upper() + text[1:] if capital else text


def verb_someone(n: int, singular: str, plural: str) -> str:
    """The verb agreeing with :func:`someone`: "niemand" and "eine Person" take the singular."""
    return singular if n <= 1 else plural


def _leavers(f: Figures) -> int:
    """Participants leaving in P (K14's total; K09's denominator)."""
    return f.n("K14") if f.has("K14") else f.d("K09")


def implementation(f: Figures, fr: Frame) -> Chapter:
    k01 = f.n("K01")
    paras = [f"{fr.in_period} {verb(k01, 'wurde', 'wurden')} {HOUSEHOLD.count(k01)} durch {fr.project} "
             f"({fr.carrier}) begleitet."]
    s = []
    if k01 and f.value("K17") is not None:
        s.append(f"Die Plätze waren zu {percent(f.value('K17'))} ausgelastet.")
    if f.value("K11") is not None:
        s.append(f"Je Bedarfsgemeinschaft und Monat fanden im Mittel {fmt_number(f.value('K11'), 'ratio')} "
                 "Kontakte statt")
        if f.value("K12") is not None:
            s[-1] += f"; {percent(f.value('K12'))} davon waren Hausbesuche."
        else:
            s[-1] += "."
    ending = f.d("K09H")
    if k01:
        if ending == 0:
            s.append(f"{fr.until} hat noch keine Bedarfsgemeinschaft die Begleitung beendet.")
        elif ending == k01:
            s.append(f"{fr.until} haben alle {HOUSEHOLD.count(k01)} die Begleitung beendet."
                     if k01 > 1 else f"{fr.until} hat sie die Begleitung beendet.")
        else:
            s.append(f"{fr.until} {verb(ending, 'hat', 'haben')} {fmt_number(ending)} der "
                     f"{HOUSEHOLD.count(k01)} die Begleitung beendet." if ending > 1 else
                     f"{fr.until} hat eine der {HOUSEHOLD.count(k01)} die Begleitung beendet.")
    if s:
        paras.append(" ".join(s))
    return Chapter("umsetzung", "Umsetzung und Abweichungen", paras,
                   "Wie wurde das Konzept umgesetzt (Personal, Methoden, Hausbesuche)? Gab es Abweichungen vom "
                   "Antrag, und warum?")


def target_group(f: Figures, fr: Frame) -> Chapter:
    k03, k04, k02 = f.n("K03"), f.n("K04"), f.n("K02")
    paras = []
    if k03:
        s = f"Erreicht {verb(k03, 'wurde', 'wurden')} {PERSON.count(k03)} in den begleiteten Bedarfsgemeinschaften"
        s += f", darunter {CHILD.count(k04)} (minderjährig bei Eintritt)." if k03 > 1 else "."
        paras.append(s)
    s = f"Als ESF-Teilnehmende {verb(k02, 'wurde', 'wurden')} {PERSON.count(k02)} erfasst"
    if k02 and f.value("K20") is not None:
        s += f"; die ESF-Datensätze waren zu {percent(f.value('K20'))} vollständig."
    else:
        s += "."
    if k02 and f.has("K21"):
        k21 = f.n("K21")
        s += f" Langzeitleistungsbeziehend {verb(k21, 'war', 'waren')} {PERSON.count(k21)}."
    paras.append(s)
    types = f.ranked("K01", "household_type", 2)
    if types:
        paras.append("Nach Haushaltstyp waren am häufigsten vertreten: "
                     + join([f"{c} ({fmt_number(n)})" for c, n in types]) + ".")
    return Chapter("zielgruppe", "Zielgruppe und Zugang", paras,
                   "Wie kamen die Familien ins Projekt (Zuweisung durch das Jobcenter, Wartezeiten)? Was kennzeichnete "
                   "die Zielgruppe in diesem Jahr?")


def _target_sentence(t: TargetRow) -> str:
    goal = f"{'mindestens' if t.direction == 'at_least' else 'höchstens'} {fmt_target(t.target, t.unit)}"
    if t.met is None:
        why = ("es gibt noch keine Fälle, die in den Anteil eingehen" if t.unit == "share"
               else "es liegt noch kein Ergebnis vor")
        return f"{t.label} ({t.id}): Das Ziel von {goal} ist noch nicht bewertbar; {why}."
    result = percent(t.result) if t.unit == "share" else (days(t.result) if t.unit == "days"
                                                         else fmt_number(t.result, t.unit))
    if t.id == "K01":
        if not t.result:
            return f"Bislang wurde keine Bedarfsgemeinschaft begleitet; das Ziel von {goal} ist nicht erreicht."
        res = f"Mit {HOUSEHOLD.count_dative(t.result)}"
        return (f"{res} wurde das Ziel von {goal} begleiteten Bedarfsgemeinschaften erreicht." if t.met else
                f"{res} blieb die Zahl der begleiteten Bedarfsgemeinschaften unter dem Ziel von {goal}.")
    if t.unit == "share" and t.numerator is not None and t.denominator:
        result += f" ({fmt_number(t.numerator)} von {fmt_number(t.denominator)})"
    verdict = "ist erreicht" if t.met else "wurde nicht erreicht"
    return f"{t.label} ({t.id}): Ergebnis {result}; das Ziel von {goal} {verdict}."


def results(f: Figures, fr: Frame, targets: list[TargetRow], earlier_final: str | None = None,
            earlier_higher: bool | None = None) -> Chapter:
    """Targets against results; ``earlier_final``: the last final cycle before this one, and whether its K05 was
    higher (None: equal or not comparable)."""
    paras = []
    if targets:
        paras.append(" ".join(_target_sentence(t) for t in targets))
        missed = [t for t in targets if t.missed]
        if missed and fr.cycle_status == "running":
            paras.append(f"Zum Datenstand {verb(len(missed), 'liegt ein Ergebnis', 'liegen Ergebnisse')} unter dem "
                         f"Ziel ({join([t.id for t in missed])}). Da das Projektjahr noch läuft, ist das ein "
                         "Zwischenstand; bleibt es dabei, sind die Gründe spätestens im Sachbericht zum "
                         "Verwendungsnachweis darzulegen (markierte Stellen unten).")
        elif missed:
            paras.append(f"{'Ein Ziel wurde' if len(missed) == 1 else 'Ziele wurden'} verfehlt "
                         f"({join([t.id for t in missed])}). Die Gründe sind spätestens im Sachbericht zum "
                         "Verwendungsnachweis darzulegen; die markierten Stellen unten sind dafür vorgesehen.")
    else:
        paras.append("Für diesen Berichtszeitraum sind keine Zielwerte hinterlegt ([[cycles]] targets in "
                     "config.toml).")
    if fr.cycle_status and fr.cycle_status != "final":
        paras.append("Die Werte des Projektjahres sind vorläufig: "
                     + ("Es werden noch Bedarfsgemeinschaften begleitet." if fr.cycle_status == "running" else
                        "Die Nachbefragungen sechs Monate nach dem Austritt sind noch nicht alle fällig.")
                     + " Der Vergleich mit abgeschlossenen Projektjahren ist deshalb nur ein Zwischenstand.")
    if earlier_final and earlier_higher is not None:
        paras.append(f"Gegenüber dem letzten abgeschlossenen Projektjahr {earlier_final} lag der Anteil der "
                     f"Bedarfsgemeinschaften mit eingeleiteter Hilfe {'niedriger' if earlier_higher else 'höher'}.")
    notes = [f"{t.label} ({t.id}): Ziel {t.target_label} nicht erreicht. Begründung:" for t in targets if t.missed]
    return Chapter("ziele", "Ergebnisse gegenüber den Zielen", paras,
                   "Wie sind die Ergebnisse einzuordnen? Was hat zum Erreichen oder Verfehlen der Ziele beigetragen?",
                   notes)


def helps(f: Figures, fr: Frame) -> Chapter:
    k01, k06 = f.n("K01"), f.n("K06")
    paras = []
    if f.value("K05") is not None and k01:
        k05 = f.value("K05")
        n05 = f.n("K05")
        lead = over(k05)
        share = f"{lead} der Familien ({percent(k05)})" if lead else f"{percent(k05)} der Familien"
        if n05 == 0:
            paras.append(f"In keiner der {HOUSEHOLD.count_dative(k01)} wurde bislang eine Hilfe eingeleitet."
                         if k01 > 1 else "In der begleiteten Bedarfsgemeinschaft wurde bislang keine Hilfe "
                         "eingeleitet.")
        elif k01 == 1:
            paras.append("In der begleiteten Bedarfsgemeinschaft wurden Hilfen eingeleitet.")
        else:
            paras.append(f"In {share} konnten Hilfen eingeleitet werden "
                         f"({'eine' if n05 == 1 else fmt_number(n05)} von {HOUSEHOLD.count(k01)}).")
    s = f"Insgesamt {verb(k06, 'wurde', 'wurden')} {HELP.count(k06)} eingeleitet"
    if k06 and f.value("K08") is not None:
        s += f", im Mittel {fmt_number(f.value('K08'), 'ratio')} je Bedarfsgemeinschaft"
    groups = f.ranked("K06", "help_group")
    if groups:
        s += "; am häufigsten in den Bereichen " + join([f"{c} ({fmt_number(n)})" for c, n in groups])
    paras.append(s + ".")
    if k06 and f.value("K07") is not None:
        paras.append(f"Von den eingeleiteten Hilfen wurden {percent(f.value('K07'))} von den Familien aufgenommen "
                     "(begonnen oder abgeschlossen).")
    if f.value("K16") is not None:
        paras.append(f"Bis zur ersten Hilfe vergingen im Median {days(f.value('K16'))} Tage nach dem Eintritt.")
    leavers = f.d("K09")
    if leavers and f.value("K09") is not None:
        k09 = f.n("K09")
        paras.append(f"Von {PERSON.count_dative(leavers)}, die {fr.left_when} ausgetreten "
                     f"{verb(leavers, 'ist', 'sind')}, {verb_someone(k09, 'wechselte', 'wechselten')} {someone(k09)} "
                     f"in ein Regelinstrument wie eine Maßnahme des Jobcenters ({percent(f.value('K09'))}).")
    return Chapter("hilfen", "Hilfen und Übergänge", paras,
                   "Welche Hilfen waren besonders wirksam? Wo gab es Wartezeiten oder fehlende Angebote?")


def exits(f: Figures, fr: Frame) -> Chapter:
    leavers = _leavers(f)
    prompt = "Wo stehen die Familien nach dem Projekt? Was waren die Gründe für vorzeitige Austritte?"
    if leavers == 0:
        return Chapter("austritte", "Austritte und Verbleib", [
            f"{fr.until} ist noch keine teilnehmende Person ausgetreten. Angaben zu Austritten, "
            "Verbleib und Übergängen sind daher noch nicht fällig; sie folgen im nächsten Bericht."], prompt)
    paras = [f"{fr.until} {verb(leavers, 'ist', 'sind')} {PERSON.count(leavers)} aus dem Projekt ausgetreten."]
    s = []
    if f.value("K10") is not None:
        k10 = f.n("K10")
        s.append(f"Eine Erwerbstätigkeit oder Ausbildung {verb_someone(k10, 'nahm', 'nahmen')} {someone(k10)} "
                 f"auf ({percent(f.value('K10'))}).")
    job = ESF_JOB_ID.get(fr.funding_period)
    if job and f.has(job):
        nj = f.n(job)
        s.append(f"Nach der ESF-Zählung (vollständige Datensätze, {job}) {verb(nj, 'hatte', 'hatten')} "
                 f"{PERSON.count(nj)} bei Austritt einen Arbeitsplatz.")
    if f.value("K15") is not None:
        s.append(f"Die Abbruchquote (fehlende Mitwirkung oder Ausschluss) lag bei {percent(f.value('K15'))}.")
    if s:
        paras.append(" ".join(s))
    reasons = f.ranked("K14", "exit_reason", 2)
    if reasons:
        paras.append("Häufigste Austrittsgründe: " + join([f"„{c}“ ({fmt_number(n)})" for c, n in reasons]) + ".")
    if f.value("K13") is not None:
        paras.append(f"Die Begleitung der Bedarfsgemeinschaften, die sie beendet haben, dauerte im Median "
                     f"{days(f.value('K13'))} Tage.")
    fu = ESF_FOLLOWUP_ID.get(fr.funding_period)
    if fu and f.has(fu):
        due = f.d(fu)
        if due == 0:
            paras.append("Die Nachbefragungen sechs Monate nach dem Austritt sind noch nicht fällig.")
        elif f.value(fu) is not None:
            nf = f.n(fu)
            paras.append(f"Von {PERSON.count_dative(due)}, deren Nachbefragung sechs Monate nach dem Austritt fällig "
                         f"war, {verb_someone(nf, 'war', 'waren')} {someone(nf)} beschäftigt ({percent(f.value(fu))}).")
    return Chapter("austritte", "Austritte und Verbleib", paras, prompt)


def cooperation(f: Figures, fr: Frame) -> Chapter:
    paras = []
    sites = [(c, f.n("K01", "jobcenter_site", c)) for c in f.lk.categories("K01", "jobcenter_site")]
    sites = [(c, n) for c, n in sites if n]
    if sites:
        paras.append("Die begleiteten Bedarfsgemeinschaften kamen aus den Bereichen der Jobcenter-Standorte "
                     + join([f"{c} ({fmt_number(n)})" for c, n in sites]) + ".")
    groups = [c for c, _ in f.ranked("K06", "help_group", 7)]
    if groups:
        paras.append("Eingeleitete Hilfen betrafen die Bereiche " + join(groups) + "; dafür wurden die "
                     "jeweiligen Fachdienste und Beratungsstellen einbezogen.")
    return Chapter("zusammenarbeit", "Zusammenarbeit (Jobcenter, Fachdienste)", paras or [
        "Für diesen Abschnitt liegen keine Kennzahlen vor."],
        "Wie lief die Zusammenarbeit mit dem Jobcenter (Zuweisung, Fallbesprechungen) und mit den Fachdiensten? "
        "Welche Netzwerkpartner kamen hinzu?")


def cross_cutting(f: Figures, fr: Frame) -> Chapter:
    paras = []
    k02 = f.n("K02")
    if k02:
        parts = [WOMAN.count(f.n("K02", "gender", "women")), MAN.count(f.n("K02", "gender", "men"))]
        nb = f.n("K02", "gender", "non_binary")
        if nb:
            parts.append(f"{PERSON.count(nb)} mit dem Geschlechtseintrag divers")
        ns = f.n("K02", "gender", "not_stated")
        if ns:
            parts.append(f"{PERSON.count(ns)} ohne Angabe zum Geschlecht")
        paras.append(f"Gleichstellung: Unter den ESF-Teilnehmenden {verb(k02, 'war', 'waren')} " + join(parts) + ".")
    dis = ESF_DISABILITY_ID.get(fr.funding_period)
    if k02 and dis and f.has(dis):
        nd = f.n(dis)
        s = f"Nichtdiskriminierung: Unter den vollständig erfassten Teilnehmenden {verb(nd, 'war', 'waren')} " \
            f"{PERSON.count(nd)} mit Behinderungen"
        if f.has("EECO14"):
            s += f" und {PERSON.count(f.n('EECO14'))} ausländischer Herkunft"
        paras.append(s + ".")
    leavers = f.d("K09")
    if leavers and f.value("K09") is not None:
        paras.append(f"Nachhaltigkeit: {percent(f.value('K09'))} der ausgetretenen Teilnehmenden gingen in "
                     "Regelinstrumente über, die über das Projektende hinaus tragen.")
    return Chapter("querschnitt", "Querschnittsziele (Gleichstellung, Nichtdiskriminierung, Nachhaltigkeit)",
                   paras or ["Für diesen Abschnitt liegen noch keine Kennzahlen vor."],
                   "Wie wurden Gleichstellung, Nichtdiskriminierung und Nachhaltigkeit im Projektalltag "
                   "berücksichtigt?")


def publicity(public_text: str) -> Chapter:
    paras = ["Vorschlag für einen kurzen Pressetext, gebildet nur aus den Kennzahlen der öffentlichen Fassung "
             "(kleine Fallzahlen geheim gehalten):", f"„{public_text}“" if public_text else "",
             "Bei allen Veröffentlichungen ist die Förderung durch die Europäische Union und das Land "
             "Rheinland-Pfalz mit den vorgeschriebenen Logos kenntlich zu machen."]
    return Chapter("oeffentlichkeit", "Öffentlichkeitsarbeit", [p for p in paras if p],
                   "Presseartikel, Veranstaltungen, Website und soziale Medien des Berichtszeitraums.")


def outlook(f: Figures, fr: Frame) -> Chapter:
    if fr.cycle_status == "final":
        s = ("Alle Bedarfsgemeinschaften des Projektjahres haben die Begleitung beendet, die Nachbefragungen sind "
             "fällig; die Ergebnisse dieses Berichts sind abschließend.")
    elif fr.cycle_status == "followups_pending":
        s = ("Alle Bedarfsgemeinschaften des Projektjahres haben die Begleitung beendet; die Nachbefragungen sechs "
             "Monate nach dem Austritt stehen teilweise noch aus. Ihre Ergebnisse folgen im nächsten Bericht.")
    elif fr.cycle_status == "running":
        s = ("Zum Datenstand werden noch Bedarfsgemeinschaften begleitet; Austritte, Verbleib und Nachbefragungen "
             "werden im nächsten Bericht fortgeschrieben.")
    else:
        s = "Die Kennzahlen werden mit jeder neuen Datenlieferung fortgeschrieben."
    return Chapter("ausblick", "Ausblick", [s],
                   "Planungen für das kommende Projektjahr, Änderungen im Konzept, absehbare Bedarfe.")


def chapters(lk: Lookup, frame: Frame, targets: list[TargetRow], public_text: str = "",
             earlier_final: str | None = None, earlier_higher: bool | None = None) -> list[Chapter]:
    """The nine chapters of the Sachbericht, each opening with its drafted paragraphs."""
    f = Figures(lk)
    return [
        implementation(f, frame), target_group(f, frame),
        results(f, frame, targets, earlier_final, earlier_higher), helps(f, frame), exits(f, frame),
        cooperation(f, frame), cross_cutting(f, frame), publicity(public_text), outlook(f, frame),
    ]
