"""Free-text scrubber: regex recognizers, values known from the structured record, optional Presidio NER.

Regexes catch identifier *shapes* (phones, e-mails, SSNs, MRN-like numbers, dates, URLs, IPs, ZIP codes, ages
over 89). Names cannot be found by shape: the scrubber removes every name, address part and identifier value
that the structured part of the same record declared (:meth:`TextScrubber.add_known`), and, only when the
optional Presidio extra *and* a spaCy model are installed (never downloaded here), person/location entities.
Without an NER model :attr:`TextScrubber.ner` is ``None`` and reports say that unknown names in free text were
not searched.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# Order matters: longer/more specific shapes first.
RECOGNIZERS: list[tuple[str, re.Pattern[str], str]] = [
    ("url", re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.I), "[URL]"),
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[EMAIL]"),
    ("ip", re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"), "[IP]"),
    ("ssn", re.compile(r"\b\d{3}-\d{2}-\d{4}\b|\b(?:SSN|social security(?: number)?)[:#\s]*\d{9}\b", re.I), "[SSN]"),
    ("date", re.compile(
        r"\b(?:\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
        r"|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}-\d{1,2}-\d{4}"
        r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
        r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+\d{4})\b",
        re.I), "[DATE]"),
    ("phone", re.compile(r"(?<![\w-])(?:\+?\d{1,3}[-. ]?)?\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b"), "[PHONE]"),
    ("mrn", re.compile(
        r"\b(?:MRN|medical record(?: number)?|record(?: no\.?| number)|account(?: number)?|acct|member id|"
        r"licen[cs]e(?: number)?|passport(?: number)?|serial(?: number)?)\s*[:#]?\s*[A-Z0-9][A-Z0-9-]{3,}", re.I),
     "[ID]"),
    ("uuid", re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "[ID]"),
    ("long_number", re.compile(r"\b\d{7,}\b"), "[ID]"),
    ("zip", re.compile(r"\b(?:[A-Z]{2}\s+)?\d{5}-\d{4}\b|(?<=\b[A-Z]{2} )\d{5}\b"), "[ZIP]"),
    ("age_over_89", re.compile(r"\b(?:9\d|1[0-4]\d)(?=[- ]?(?:years?|yrs?|y/?o)\b)", re.I), "90+"),
]


class TextScrubber:
    """Scrub free text; counts what it replaced by recognizer kind (never the values)."""

    def __init__(self, known: Iterable[str] = (), use_ner: bool = True):
        self.counts: Counter[str] = Counter()
        self._known: set[str] = set()
        self._known_re: re.Pattern[str] | None = None
        self.add_known(known)
        self.ner = _load_presidio() if use_ner else None

    def add_known(self, values: Iterable[str]) -> None:
        for v in values:
            if isinstance(v, str):
                v = v.strip()
                if len(v) >= 3 and not v.isdigit() or len(v) >= 5:
                    self._known.add(v)
        self._known_re = None

    def _known_pattern(self) -> re.Pattern[str] | None:
        if self._known_re is None and self._known:
            alts = sorted(self._known, key=len, reverse=True)
            self._known_re = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, alts)) + r")(?!\w)", re.I)
        return self._known_re

    def scrub(self, text: str) -> str:
        if not text:
            return text
        pat = self._known_pattern()
        if pat is not None:
            text, n = pat.subn("[REDACTED]", text)
            self.counts["known_value"] += n
        for kind, pattern, repl in RECOGNIZERS:
            text, n = pattern.subn(repl, text)
            if n:
                self.counts[kind] += n
        if self.ner is not None:
            text = self._scrub_ner(text)
        return text

    def scrub_xhtml(self, div: str) -> str:
        """Scrub only the text between tags, so the narrative stays well-formed XHTML."""
        return re.sub(r">([^<]+)<", lambda m: ">" + self.scrub(m.group(1)) + "<", div)

    def _scrub_ner(self, text: str) -> str:
        results = self.ner.analyze(text=text, language="en", entities=["PERSON", "LOCATION", "NRP"])
        for r in sorted(results, key=lambda r: r.start, reverse=True):
            text = text[: r.start] + f"[{r.entity_type}]" + text[r.end:]
            self.counts[f"ner_{r.entity_type.lower()}"] += 1
        return text

    @property
    def names_searched(self) -> str:
        if self.ner is not None:
            return "names from the structured record and Presidio NER (spaCy) entities"
        return ("only names/addresses declared in the structured record; other names in free text were NOT "
                "searched (install presidio-analyzer and a spaCy English model for NER)")


def _load_presidio():
    """Presidio's analyzer with an installed spaCy model, or None. Never downloads a model."""
    try:
        import spacy.util
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError:
        return None
    for model in ("en_core_web_lg", "en_core_web_md", "en_core_web_sm"):
        if spacy.util.is_package(model):
            provider = NlpEngineProvider(nlp_configuration={
                "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]})
            return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    return None
