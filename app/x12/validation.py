"""pyx12's full implementation-guide validation of an 835, as warnings.

spec/parsing.md "Reading with pyx12, quickly": the loop-aware validator
(``X12ContextReader`` / ``x12n_document``) runs at ~2,000 service lines/s, so it is
kept off the ingest hot path: inline for small files, in the background or through
``era-recon validate`` for large ones. Everything it reports — trailer counts,
control numbers, code-set values, element lengths, repeat counts, segments out of
place — is a warning: whether a file is accepted is decided by ``reader``.

This is ``x12n_document``'s walk, with these changes: the maps are loaded once per
process (pyx12 re-parses them for every reader, ~40 ms); no configuration file is
read (``ParamsBase``, not ``params()`` which reads ``~/.pyx12.conf.xml``); a body
segment already found clean at the same place of the map is not checked again
(``_check_segment``), nor an element value found clean at the same element of the
map (``_CleanElement``); the walk of a file is replayed for the next file of the
same shape (``_walks``); a segment becomes a pyx12 ``Segment`` only when something
needs one (``_read``); and the errors are collected as located ``Finding``s whose
messages never repeat element values (pyx12's own messages and log lines quote
them: patient names, member ids). Remark codes are not checked against pyx12's
stale list (notes/pyx12.md).

The segments are those the 835 reader reads (``SegmentReader.blocks``). pyx12's
``RawX12File`` stops, silently, where a segment does not end within its next 8 KB
read; a file with such a segment (only a broken file has one) is validated to its
end, so the findings name that segment and what follows it, not trailers missing
there.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import Any

import pyx12.errors
import pyx12.map_if
import pyx12.map_index
import pyx12.params
import pyx12.segment
from pyx12.map_if._segment import apply_segment_errors
from pyx12.map_walker import walk_tree

from app.x12.errors import X12Rejected
from app.x12.schemas import Finding
from app.x12.segments import (
    SegmentReader,
    TextSource,
    body_component_separator,
    decode,
    prepare,
    silence_pyx12,
    split_interchanges,
)

silence_pyx12()

MAX_VALIDATION_FINDINGS = 500
_FALLBACK_835 = {"00501": "005010X221A1", "00401": "004010X091A1"}

# pyx12 element error codes (IK4 / AK4) → a message without the value
_ELEMENT_MESSAGES = {
    "1": "required element is missing",
    "2": "conditionally required element is missing",
    "3": "too many data elements",
    "4": "value is too short",
    "5": "value is too long",
    "6": "value has an invalid character",
    "7": "value is not a valid code",
    "8": "value is not a valid date",
    "9": "value is not a valid time",
    "10": "element is present but must not be (exclusion condition)",
    "12": "too many repetitions",
    "13": "too many components",
}

_lock = threading.Lock()
_maps: dict[str, Any] = {}
_state: dict[str, Any] = {}


def _params() -> pyx12.params.ParamsBase:
    params = _state.get("params")
    if params is None:
        params = pyx12.params.ParamsBase()
        params.set("exclude_external_codes", "remark_code")
        _state["params"] = params
    return params


def _map(name: str) -> Any:
    """A pyx12 map, parsed once per process (maps keep no per-file state)."""
    with _lock:
        found = _maps.get(name)
        if found is None:
            found = pyx12.map_if.load_map_file(name, _params())
            _remember_clean_elements(found)
            _maps[name] = found
        return found


# Element values pyx12 found clean, per element of a map. ``_check_segment`` skips a
# segment seen clean whole; most segments that differ from file to file (the
# envelope's control numbers and dates, a claim's amounts, a patient's name) still
# repeat most of their elements (qualifiers, codes, ids of payer and payee), and an
# element's checks (``element_if.is_valid_errors``: length, characters, code list,
# data type, pattern) depend on nothing but the map's element and its value (and
# the type list a few are given). So each element node of the process's maps
# remembers the values it found clean — as digests, so no name or id stays in
# memory — and answers them at once; an element with any finding is checked every
# time. Bounded per element: cleared when full.
_CLEAN_VALUES_MAX = 1_000
_clean_elements: list[_CleanElement] = []  # every map's, for tests to empty


class _CleanElement:
    """``element_if.is_valid_errors`` of one map element, remembering clean values."""

    __slots__ = ("check", "clean")

    def __init__(self, node: Any) -> None:
        self.check = node.is_valid_errors  # pyx12's own, bound to the node
        self.clean: set[bytes] = set()

    def __call__(self, elem: Any, type_list: list[str | None] | None = None) -> Any:
        if elem is None or elem.is_composite():
            return self.check(elem, type_list)
        value = elem.get_value()
        if value == "":
            return self.check(elem, type_list)
        text = value if not type_list else repr((value, type_list))
        key = hashlib.blake2b(text.encode(), digest_size=16).digest()
        if key in self.clean:
            return True, []
        ok, errors = self.check(elem, type_list)
        if ok and not errors:
            if len(self.clean) >= _CLEAN_VALUES_MAX:
                self.clean.clear()
            self.clean.add(key)
        return ok, errors


class _ChildByIndex:
    """``segment_if.get_child_node_by_idx`` of one map segment, from a table made once
    (pyx12 searches the children for the position on every call, ~12 a segment
    checked); any position the table does not hold goes to pyx12's own."""

    __slots__ = ("table", "unknown")

    def __init__(self, node: Any) -> None:
        self.unknown = node.get_child_node_by_idx  # pyx12's own, bound to the node
        table = []
        for position in range(1, len(node.children) + 1):
            found = [c for c in node.children if c.seq == position]
            table.append(found[0] if len(found) == 1 else None)
        self.table: tuple[Any, ...] = tuple(table)

    def __call__(self, idx: int) -> Any:
        if 0 <= idx < len(self.table):
            found = self.table[idx]
            if found is not None:
                return found
        return self.unknown(idx)


def _remember_clean_elements(map_root: Any) -> None:
    """Every element of a map, directly in a segment or in a composite, checks
    through a ``_CleanElement`` (an attribute of the node, which the segment's check
    calls in place of the class's method); every segment finds its elements by
    position through a ``_ChildByIndex``."""
    for node in map_root.loop_segment_iterator():
        if not node.is_segment():
            continue
        node.get_child_node_by_idx = _ChildByIndex(node)
        for child in node.children:
            parts = child.children if isinstance(child, pyx12.map_if.composite_if) else [child]
            for element in parts:
                if isinstance(element, pyx12.map_if.element_if):
                    remembered = _CleanElement(element)
                    element.is_valid_errors = remembered
                    _clean_elements.append(remembered)


def _map_index() -> pyx12.map_index.map_index:
    with _lock:
        index = _state.get("index")
        if index is None:
            index = pyx12.map_index.map_index()
            _state["index"] = index
        return index


def load_maps() -> None:
    """Parse the maps an 835 of either version is validated with, now: a server
    does it as it starts, not on its first upload (~40 ms a map)."""
    index = _map_index()
    for icvn, guide in _FALLBACK_835.items():
        _map(f"x12.control.{icvn}.xml")
        _map(index.get_filename(icvn, guide, "HP"))


# Body segments pyx12 found clean, by map node and values. The element and syntax
# checks of a segment (pyx12's ``segment_if.is_valid_errors``) depend on nothing but
# the map node and the segment's values, and most segments of a payer's files repeat
# from file to file (payer and payee N1/N3/N4/REF/PER, LX, SVC, CAS, AMT, DTM...):
# those are not checked again. Only clean segments are kept (a faulty one is checked
# every time, so its findings are reported as before), and only as a digest of their
# values, so no patient name or member id stays in memory. Bounded: cleared when full.
_CLEAN_MAX = 100_000
_clean_segments: set[tuple[int, bytes]] = set()
_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})


def _check_segment(node: Any, item: _Read, errh: _Collector) -> None:
    """``apply_segment_errors`` of a body segment, skipped when this segment's values
    were found clean at this map node before. Its text and the element and component
    separators give its values, and only they: the digest is of those."""
    _term, element, component = item.terms
    text = f"{element}{component}{item.text}"
    key = (id(node), hashlib.blake2b(text.encode(), digest_size=16).digest())
    if key in _clean_segments:
        return
    before = (len(errh.findings), errh.dropped)
    apply_segment_errors(node, item.seg(), errh)
    if (len(errh.findings), errh.dropped) == before:  # no error of any kind
        if len(_clean_segments) >= _CLEAN_MAX:
            _clean_segments.clear()
        _clean_segments.add(key)


def _loop_id(map_node: Any) -> str | None:
    parent = getattr(map_node, "parent", None)
    loop = getattr(parent, "id", None)
    return str(loop) if loop else None


class _Collector:
    """Stands in for ``pyx12.error_handler.err_handler``: keeps located findings,
    drops values."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.dropped = 0
        self.number = 0
        self.segment: str | None = None
        self.loop: str | None = None
        self.element_name: str | None = None

    def add(self, message: str, code: str, element: str | None = None) -> None:
        if len(self.findings) >= MAX_VALIDATION_FINDINGS:
            self.dropped += 1
            return
        self.findings.append(
            Finding(
                message,
                segment_number=self.number or None,
                segment=self.segment,
                loop=self.loop,
                element=element,
                code=code,
            )
        )

    # the err_handler interface used by the walk
    def add_isa_loop(self, seg: Any, src: Any) -> None:
        self.loop = None

    def add_gs_loop(self, seg: Any, src: Any) -> None:
        self.loop = None

    def add_st_loop(self, seg: Any, src: Any) -> None:
        self.loop = None

    def add_seg(self, map_node: Any, seg: Any, seg_count: int, line: int, ls_id: Any) -> None:
        self.loop = _loop_id(map_node)

    def add_ele(self, map_node: Any) -> None:
        self.element_name = getattr(map_node, "name", None)

    def close_isa_loop(self, node: Any, seg: Any, src: Any) -> None:
        pass

    def close_gs_loop(self, node: Any, seg: Any, src: Any) -> None:
        pass

    def close_st_loop(self, node: Any, seg: Any, src: Any) -> None:
        pass

    def handle_errors(self, errors: list[tuple[str, str, str, Any, int | None]]) -> None:
        for kind, code, message, value, _line in errors:
            self.add(_clean(message, value), f"pyx12-{kind}-{code}")

    def isa_error(self, code: str, message: str) -> None:
        self.add(_clean(message, None), f"pyx12-isa-{code}")

    def gs_error(self, code: str, message: str) -> None:
        self.add(_clean(message, None), f"pyx12-gs-{code}")

    def st_error(self, code: str, message: str) -> None:
        self.add(_clean(message, None), f"pyx12-st-{code}")

    def seg_error(
        self, code: str, message: str, value: Any = None, src_line: int | None = None
    ) -> None:
        self.add(_clean(message, value), f"pyx12-seg-{code}")

    def ele_error(self, code: str, message: str, value: Any, refdes: str | None = None) -> None:
        text = _ELEMENT_MESSAGES.get(code, "invalid value")
        name = f" ({self.element_name})" if self.element_name else ""
        self.add(f"{refdes or 'element'}{name}: {text}", f"pyx12-ele-{code}", element=refdes)


def _clean(message: str, value: Any) -> str:
    """pyx12's message with any quoted value removed (segment text, element values)."""
    if message.startswith("Segment ") and " not found" in message:
        return "segment not expected here (not found in the implementation guide map)"
    if message.startswith(("Segment identifier", 'Segment "')):
        head = message.split('"')[0]
        tail = message.split('"')[-1] if message.count('"') >= 2 else ""
        return f"{head}{tail}".strip()
    if value:
        message = message.replace(str(value), "...")
    return message


def validate_835(data: bytes) -> list[Finding]:
    """pyx12's implementation-guide validation: every problem it finds, as warnings
    (at most 500, then a count). Raises X12Rejected only when the data cannot be
    decoded at all (not text, no ISA); never for a faulty file."""
    text, _ = decode(data)
    interchanges = split_interchanges(text)
    prepare(interchanges[0])  # raises X12Rejected when the first ISA cannot be read
    collector = _Collector()
    for interchange in interchanges:
        try:
            prepared = prepare(interchange)
        except X12Rejected as rejected:
            collector.number += 1
            collector.segment = "ISA"
            collector.add(rejected.findings[0].message, "pyx12-isa")
            break
        text = prepared.text
        actual = body_component_separator(prepared)
        if actual is not None:
            # validate what the reader reads: the composites split where the payer
            # split them (the reader warns about the mismatch; say it here too)
            text = text[:104] + actual + text[105:]
            collector.number += 1
            collector.segment = "ISA"
            collector.add(
                f"the body uses {actual!r} as component separator, not ISA16 "
                f"{prepared.delimiters.component!r}; validated with {actual!r}",
                "pyx12-component-separator",
                element="ISA16",
            )
            collector.number -= 1
        try:
            _walk(text, prepared.isa_version, collector)
        except Exception:  # pyx12 internals on malformed input: report it, never crash
            collector.add(
                "pyx12 could not validate the rest of this interchange from this segment on",
                "pyx12-stopped",
            )
            break
    if collector.dropped:
        collector.findings.append(
            Finding(f"{collector.dropped} more validation findings", code="pyx12-more")
        )
    return collector.findings


# Map walks, by the file's shape. pyx12's walk (``walk_tree.walk_errors``: which map
# node each segment is, loop counts, required, unused and repeated segments and
# loops) reads nothing of a segment but its id and the qualifier that tells its map
# nodes apart (``segment_if.is_match``: element 01, 01-1, ENT02 or HL03, where the
# map gives codes), and it starts afresh for every file. So two files whose segments
# have the same ids and qualifiers in the same order, under the same maps, walk to
# the same nodes with the same complaints. A walk is kept as, per segment, its node
# and what it reported — messages made of map names, segment ids and counts (the
# one that quotes a segment, "not found", is reported as a fixed sentence: ``_clean``),
# never a value of the file — under a digest of the shape, and replayed for the next
# file of that shape. The element checks (``_check_segment``) and the reader's own
# findings (counts, control numbers) run for every file either way.
# bounded by the segments kept (about 100 bytes each; a one-claim file has ~35): a
# file of more than a tenth of it is walked every time
_WALK_STEPS_MAX = 200_000
_walk_steps = 0
# per segment: the node the walk reached (None: not found), and the findings it
# reported there as (node whose loop they are located in or None, code, message)
_WalkStep = tuple[Any, Sequence[tuple[Any, str, str]]]
_NOTHING: tuple[tuple[Any, str, str], ...] = ()
_walks: dict[bytes, list[_WalkStep]] = {}
_match_elements: dict[int, dict[str, tuple[int, ...]]] = {}


def _elements_of(map_root: Any) -> dict[str, tuple[int, ...]]:
    """Per segment id, the elements whose value ``is_match`` reads (at element
    01, or its first component 01-1, ...) on any node of the map."""
    found = _match_elements.get(id(map_root))
    if found is None:
        elements: dict[str, set[int]] = {}
        for node in map_root.loop_segment_iterator():
            if not node.is_segment():
                continue
            key = node._resolve_unique_key_field(node.id, with_qual=False)
            known = elements.setdefault(node.id, set())
            if key is not None:
                known.add(key[1])
        found = {seg_id: tuple(sorted(known)) for seg_id, known in elements.items()}
        with _lock:
            _match_elements[id(map_root)] = found
    return found


def _shape_key(maps: list[Any], read: list[_Read]) -> bytes:
    """The digest of what the walk of these segments under these maps depends on:
    per segment its id and the text of every element ``is_match`` reads a part of
    (more than it reads — a whole element for its first component — never less),
    and the separators the texts are split with."""
    elements: dict[str, set[int]] = {}
    for map_root in maps:
        for seg_id, some in _elements_of(map_root).items():
            elements.setdefault(seg_id, set()).update(some)
    ordered = {seg_id: sorted(some) for seg_id, some in elements.items() if some}
    shape: list[Any] = []
    terms = read[0].terms if read else None
    for item in read:
        wanted = ordered.get(item.seg_id)
        if not wanted:
            shape.append(item.seg_id)
            continue
        parts = item.text.split(item.terms[1])
        shape.append((item.seg_id, *(parts[i] if i < len(parts) else None for i in wanted)))
    names = [getattr(map_root, "id", None) for map_root in maps]
    key = repr((names, [id(m) for m in maps], terms, shape))
    return hashlib.blake2b(key.encode(), digest_size=16).digest()


class _Read:
    """One segment as the reader gave it, with what the reader knew then. Its pyx12
    ``Segment`` is made only when something needs it (``seg``): pyx12's walk of a
    shape not seen before, a segment's checks not found clean before, the envelopes."""

    __slots__ = ("_seg", "errors", "line", "ls_id", "seg_count", "seg_id", "terms", "text")

    def __init__(
        self,
        text: str,
        seg_id: str,
        seg: Any,
        src: SegmentReader,
        terms: tuple[str, str, str],
        ls_id: str | None,
    ) -> None:
        self.text = text
        self.seg_id = seg_id
        self.terms = terms  # segment, element and component separators
        self._seg = seg
        self.seg_count = src.seg_count
        self.line = src.cur_line
        self.ls_id = ls_id
        self.errors = src.pop_errors() if src.err_list else _NO_ERRORS  # what reading found

    def seg(self) -> Any:
        """The segment as ``X12Reader`` makes it."""
        if self._seg is None:
            self._seg = pyx12.segment.Segment(self.text, *self.terms)
        return self._seg


_NO_ERRORS: list[Any] = []  # never changed: the errors of a segment pyx12 found none in


def _read(src: SegmentReader, read: list[_Read], on_segment: Any) -> None:
    """``X12Reader.__iter__`` and its ``_parse_segment`` over every segment, each
    kept as a ``_Read`` in ``read``, with the same complaints recorded at the same
    segments and the same errors raised. The envelopes, HL (and an 837's CLM and
    LX) and any segment pyx12 would complain about become pyx12 ``Segment``s and
    go through pyx12's own bookkeeping; a plain body segment, which pyx12 would
    only count, is counted (~2/3 of a one-claim file's segments, each ~10 µs of
    ``Segment`` and ``Composite`` objects). ``on_segment`` sees each ``_Read`` as
    it is kept (an ISA or GS changes how the rest is read)."""
    terms = (src.seg_term, src.ele_term, src.subele_term)
    element = src.ele_term
    separators = src.ele_term + src.subele_term
    tracked = SegmentReader.TRACKED
    valid_id = pyx12.segment.rec_seg_id.search
    ls_id = src.get_ls_id()  # changes only with the envelopes' loops
    for lines in src.blocks():
        for line in lines:
            if line.startswith(" "):
                src._seg_error(
                    "1", "Segment contains a leading space", None, src_line=src.cur_line + 1
                )
                line = line.lstrip()
            if line[-1] == element:  # an empty line raises IndexError, as there
                src._seg_error(
                    "SEG1",
                    "Segment contains trailing element terminators",
                    None,
                    src_line=src.cur_line + 1,
                )
            seg_id = line.split(element, 1)[0]
            if (
                seg_id in tracked
                or (src.check_837_lx and seg_id in ("CLM", "LX"))
                # what ``is_seg_id_valid`` and ``is_empty`` would complain about
                or not 2 <= len(seg_id) <= 3
                or not valid_id(seg_id)
                or not line[len(seg_id) + 1 :].strip(separators)
            ):
                seg = pyx12.segment.Segment(line, *terms)
                src._parse_segment(seg)
                ls_id = src.get_ls_id()
            else:  # a plain body segment: only counted
                seg = None
                src.seg_count += 1
                src.cur_line += 1
            item = _Read(line, seg_id, seg, src, terms, ls_id)
            read.append(item)
            on_segment(item)


def _group_map(index: Any, icvn: str | None, isa_version: str, seg: Any) -> tuple[Any, bool]:
    """The map file of a GS (and whether it is pyx12's fallback, the 835's)."""
    wanted = index.get_filename(icvn, seg.get_value("GS08"), seg.get_value("GS01"))
    if wanted is not None:
        return wanted, False
    fallback = _FALLBACK_835.get(icvn or isa_version, "005010X221A1")
    return index.get_filename(icvn, fallback, "HP"), True


def _walk(text: str, isa_version: str, errh: _Collector) -> None:
    """``pyx12.x12n_document.x12n_document`` without its outputs, with cached maps:
    the file is read first (what the reader finds is kept with each segment, and
    reported where it was), then walked, or the walk of its shape replayed."""
    src = SegmentReader(TextSource(text))
    control = _map("x12.control.00501.xml" if src.icvn == "00501" else "x12.control.00401.xml")
    index = _map_index()
    read: list[_Read] = []
    maps: list[Any] = [control]
    stopped: Exception | None = None
    icvn: str | None = None

    def on_segment(item: _Read) -> None:
        nonlocal icvn
        if item.seg_id == "ISA":
            icvn = item.seg().get_value("ISA12")
        elif item.seg_id == "GS":
            # the reader checks 837 LX counts for what follows an 837's GS
            wanted, _fallback = _group_map(index, icvn, isa_version, item.seg())
            if wanted is not None:
                group_map = _map(wanted)
                maps.append(group_map)
                src.check_837_lx = group_map.id == "837"

    try:
        _read(src, read, on_segment)
    except Exception as exc:  # reported after the segments read before it, as it was
        stopped = exc
    key = _shape_key(maps, read)
    replay = _walks.get(key) if stopped is None else None
    steps: list[_WalkStep] = []
    node: Any = control.getnodebypath("/ISA_LOOP/ISA")
    walker: Any = walk_tree() if replay is None else None
    icvn = None
    map_file: str | None = None
    cur_map: Any = None
    carried: list[Any] = []  # the reader's findings of a segment the walk lost
    for number, item in enumerate(read):
        seg_id = item.seg_id
        errh.number += 1
        errh.segment = seg_id
        if seg_id in ("ISA", "IEA", "GS", "GE", "ST"):
            errh.loop = None
        orig_node = node
        if replay is not None:
            step = replay[number]
        elif seg_id == "ISA":
            walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
            step = (control.getnodebypath("/ISA_LOOP/ISA"), _NOTHING)
        elif seg_id == "GS":
            walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
            step = (control.getnodebypath("/ISA_LOOP/GS_LOOP/GS"), _NOTHING)
        else:
            found, _pop, _push, walk_errors = walker.walk_errors(
                node, item.seg(), item.seg_count, item.line, item.ls_id
            )
            # as ``apply_walk_errors`` hands them to the handler (``seg_error``)
            step = (
                found,
                [(e.map_node, e.err_cde, _clean(e.err_str, e.err_val)) for e in walk_errors]
                if walk_errors
                else _NOTHING,
            )
        steps.append(step)
        node, reported = step
        for located, code, message in reported:
            if located is not None:
                errh.add_seg(located, None, 0, 0, None)
            errh.add(message, f"pyx12-seg-{code}")
        if node is None:
            node = orig_node
            carried.extend(item.errors)
            continue
        errors, carried = [*carried, *item.errors], []
        if seg_id == "ISA":
            errh.add_isa_loop(None, None)
            icvn = item.seg().get_value("ISA12")
            errh.handle_errors(errors)
        elif seg_id == "IEA":
            errh.handle_errors(errors)
        elif seg_id == "GS":
            wanted, fallback = _group_map(index, icvn, isa_version, item.seg())
            if fallback:
                errh.add(
                    f"no implementation guide for GS01/GS08 of this group; validated as "
                    f"an 835 ({_FALLBACK_835.get(icvn or isa_version, '005010X221A1')})",
                    "pyx12-map",
                    element="GS08",
                )
            if wanted is None:
                raise pyx12.errors.EngineError("no map")
            if wanted != map_file:
                map_file = wanted
                cur_map = _map(wanted)
            node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
            errh.add_gs_loop(None, None)
            errh.handle_errors(errors)
        elif seg_id in ("GE", "ST", "SE"):
            if seg_id == "ST":
                errh.add_st_loop(None, None)
            errh.handle_errors(errors)
        else:
            errh.add_seg(node, None, item.seg_count, item.line, item.ls_id)
            errh.handle_errors(errors)
        if seg_id in _ENVELOPE:
            apply_segment_errors(node, item.seg(), errh)
        else:
            _check_segment(node, item, errh)
    if stopped is not None:
        raise stopped
    src.cleanup()
    errh.segment = None
    errh.handle_errors([*carried, *src.pop_errors()])
    if replay is None and len(steps) <= _WALK_STEPS_MAX // 10:
        with _lock:
            global _walk_steps
            if _walk_steps + len(steps) > _WALK_STEPS_MAX:
                _walks.clear()
                _walk_steps = 0
            _walks[key] = steps
            _walk_steps += len(steps)
