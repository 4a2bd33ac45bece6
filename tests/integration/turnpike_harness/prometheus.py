"""A strict parser of the Prometheus text exposition format 0.0.4 (what /metrics serves), sample
lookup, and the check that a label value carries no IP address."""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from typing import Optional

PROM_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
_PROM_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_PROM_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_PROM_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN")


class PromFormatError(ValueError):
    pass


@dataclass
class PromFamily:
    name: str
    type: Optional[str] = None
    help: Optional[str] = None
    samples: list = field(default_factory=list)  # [(sample name, {label: value}, float)]


def _prom_unescape(text: str, quote: bool, where: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                raise PromFormatError(f"{where}: dangling backslash")
            n = text[i + 1]
            if n == "\\":
                out.append("\\")
            elif n == "n":
                out.append("\n")
            elif n == '"' and quote:
                out.append('"')
            else:
                raise PromFormatError(f"{where}: invalid escape \\{n}")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _prom_family_of(sample: str, families: dict) -> Optional[PromFamily]:
    if sample in families:
        return families[sample]
    for suffix, types in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                          ("_count", ("histogram", "summary"))):
        if sample.endswith(suffix):
            f = families.get(sample[:-len(suffix)])
            if f is not None and f.type in types:
                return f
    return None


def parse_prometheus(text: str, require_declared: bool = True) -> dict:
    """Strict parser of the Prometheus text format 0.0.4. Returns {family name: PromFamily}.
    Raises PromFormatError on: a line that is not '# HELP', '# TYPE', another comment or a sample;
    a bad metric or label name, a bad escape, a duplicate label name, a value that is not a Go
    float, a bad timestamp; HELP/TYPE given twice or TYPE after the family's samples; a TYPE
    that is not a known type; a sample of a family whose samples already ended (families must be
    contiguous); a duplicate series; a counter below 0; and, with require_declared, a sample
    whose family has no TYPE line. The text must end with a newline."""
    if text and not text.endswith("\n"):
        raise PromFormatError("the text does not end with a newline")
    families: dict = {}
    order: list = []  # family names in the order their samples/metadata appear
    series: set = set()
    closed: set = set()
    current: Optional[str] = None

    def enter(name: str, where: str) -> PromFamily:
        nonlocal current
        if current != name:
            if name in closed:
                raise PromFormatError(f"{where}: family {name} appears again after other families")
            if current is not None:
                closed.add(current)
            current = name
        if name not in families:
            families[name] = PromFamily(name)
            order.append(name)
        return families[name]

    for lineno, line in enumerate(text.split("\n")[:-1] if text else [], 1):
        where = f"line {lineno}"
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not _PROM_NAME.fullmatch(parts[2]):
                    raise PromFormatError(f"{where}: {parts[1]} without a valid metric name: {line!r}")
                fam = enter(parts[2], where)
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "HELP":
                    if fam.help is not None:
                        raise PromFormatError(f"{where}: second HELP for {fam.name}")
                    fam.help = _prom_unescape(rest, quote=False, where=where)
                else:
                    if fam.type is not None:
                        raise PromFormatError(f"{where}: second TYPE for {fam.name}")
                    if fam.samples:
                        raise PromFormatError(f"{where}: TYPE for {fam.name} after its samples")
                    if rest.strip() not in PROM_TYPES:
                        raise PromFormatError(f"{where}: unknown type {rest!r} for {fam.name}")
                    fam.type = rest.strip()
            continue  # other comments are allowed
        m = _PROM_NAME.match(line)
        if m is None:
            raise PromFormatError(f"{where}: no metric name: {line!r}")
        name, pos = m.group(0), m.end()
        labels: dict = {}
        if pos < len(line) and line[pos] == "{":
            pos += 1
            while True:
                while pos < len(line) and line[pos] == " ":
                    pos += 1
                if pos < len(line) and line[pos] == "}":
                    pos += 1
                    break
                lm = _PROM_LABEL.match(line, pos)
                if lm is None:
                    raise PromFormatError(f"{where}: bad label name at column {pos + 1}: {line!r}")
                lname, pos = lm.group(0), lm.end()
                if line[pos:pos + 2] != '="':
                    raise PromFormatError(f"{where}: expected =\" after label {lname}: {line!r}")
                pos += 2
                start = pos
                while pos < len(line) and line[pos] != '"':
                    pos += 2 if line[pos] == "\\" else 1
                if pos >= len(line):
                    raise PromFormatError(f"{where}: unterminated label value: {line!r}")
                value = _prom_unescape(line[start:pos], quote=True, where=where)
                pos += 1
                if lname in labels:
                    raise PromFormatError(f"{where}: label {lname} given twice")
                labels[lname] = value
                if pos < len(line) and line[pos] == ",":
                    pos += 1
                    continue
                if pos < len(line) and line[pos] == "}":
                    pos += 1
                    break
                raise PromFormatError(f"{where}: expected , or }} after a label value: {line!r}")
        if pos >= len(line) or line[pos] not in " \t":
            raise PromFormatError(f"{where}: no value after the metric: {line!r}")
        fields = line[pos:].split()
        if len(fields) not in (1, 2):
            raise PromFormatError(f"{where}: expected 'value [timestamp]': {line!r}")
        if not _PROM_FLOAT.fullmatch(fields[0]):
            raise PromFormatError(f"{where}: value {fields[0]!r} is not a float")
        value_f = float(fields[0].replace("Inf", "inf").replace("NaN", "nan"))
        if len(fields) == 2 and not re.fullmatch(r"-?[0-9]+", fields[1]):
            raise PromFormatError(f"{where}: timestamp {fields[1]!r} is not an integer")
        fam = _prom_family_of(name, families)
        if fam is None:
            if require_declared:
                raise PromFormatError(f"{where}: sample {name} belongs to no declared family (no TYPE)")
            fam = PromFamily(name, "untyped")
            families[name] = fam
            order.append(name)
        enter(fam.name, where)
        if require_declared and fam.type is None:
            raise PromFormatError(f"{where}: sample {name} before its family's TYPE line")
        if fam.type == "counter" and not (value_f >= 0 or math.isnan(value_f)):
            raise PromFormatError(f"{where}: counter {name} is negative ({fields[0]})")
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise PromFormatError(f"{where}: duplicate series {name}{labels}")
        series.add(key)
        fam.samples.append((name, labels, value_f))
    return families


def prom_value(families: dict, name: str, **labels) -> Optional[float]:
    """The value of the sample `name` whose labels include `labels`; the sum when several match;
    None when the family or every matching sample is absent."""
    fam = _prom_family_of(name, families)
    if fam is None:
        return None
    found = [v for n, l, v in fam.samples
             if n == name and all(l.get(k) == str(val) for k, val in labels.items())]
    return sum(found) if found else None


def label_value_is_address(value: str) -> bool:
    """Whether a label value is (or contains) an IP address or address:port."""
    for token in re.split(r"[\s,;/\[\]]+", value):
        for candidate in (token, token.rsplit(":", 1)[0]):
            try:
                ipaddress.ip_address(candidate)
                return True
            except ValueError:
                pass
    return bool(re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", value))
