"""pyx12's full validation as warnings, and no patient data in any log record."""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.x12.errors import X12Rejected
from app.x12.reader import parse_835
from app.x12.schemas import Finding
from app.x12.validation import validate_835
from benchmarks.gen835 import generate_835
from tests.support import FIXTURES, SHARED, shared_path

CORPUS = sorted(
    p.name for p in (SHARED / "corpus" / "835").glob("*") if p.suffix not in (".md", ".tsv")
)


def test_validate_reports_the_corpus_faults_as_located_findings() -> None:
    data = shared_path("corpus", "835", "tigershark__835-example-2.txt").read_bytes()
    findings = validate_835(data)
    assert findings
    assert all(isinstance(f, Finding) for f in findings)
    se = [f for f in findings if f.segment == "SE"]
    assert {f.segment_number for f in se} == {31, 61}
    assert all("count" in f.message for f in se)
    assert any(f.segment == "GE" and f.code == "pyx12-gs-5" for f in findings)


@pytest.mark.parametrize(
    ("name", "code", "element"),
    [
        ("linuxforhealth-x12__managed-care.835", "pyx12-ele-8", "BPR16"),
        ("pyx12__bad_header_looping.txt", "pyx12-ele-8", "DTM02"),
        ("edi-835-parser__united_healthcare_legacy_sample.txt", "pyx12-ele-7", "N402"),
        ("tastypackets-x12-parser__errorISA.edi", "pyx12-isa-001", None),
        ("oopfactory-x12parser__4010_835_DeIdent_01.dat", "pyx12-map", "GS08"),
    ],
)
def test_validate_finds(name: str, code: str, element: str | None) -> None:
    findings = validate_835(shared_path("corpus", "835", name).read_bytes())
    assert any(f.code == code and f.element == element for f in findings), findings


@pytest.mark.parametrize("name", ["prairie-2026-06-15.835", "prairie-2026-07-20-reversal.835"])
def test_the_valid_examples_validate_clean(name: str) -> None:
    assert validate_835(shared_path("spec", "examples", name).read_bytes()) == []


def test_validate_fixtures_and_limits() -> None:
    assert validate_835((FIXTURES / "era" / "clean-5010.835").read_bytes()) == []
    assert validate_835((FIXTURES / "era" / "format-indented.835").read_bytes()) == []
    findings = validate_835((FIXTURES / "era" / "warn-se-count-and-control.835").read_bytes())
    assert {f.code for f in findings} >= {"pyx12-st-3", "pyx12-st-4"}
    with pytest.raises(X12Rejected):
        validate_835(b"\x00\x01binary")


def test_validate_reads_the_component_separator_the_body_uses() -> None:
    data = (FIXTURES / "era" / "warn-component-separator.835").read_bytes()
    findings = validate_835(data)
    assert findings[0].code == "pyx12-component-separator"
    assert findings[0].element == "ISA16"
    # the SVC composites now validate; only the PLB, which kept ISA16's ':', is flagged
    assert {f.segment for f in findings[1:]} == {"PLB"}


def test_validate_of_a_truncated_file_reports_the_missing_trailers() -> None:
    data = (FIXTURES / "era" / "reject-missing-se.835").read_bytes()
    codes = {f.code for f in validate_835(data)}
    assert {"pyx12-st-2", "pyx12-gs-3", "pyx12-isa-023"} <= codes


def test_a_segment_longer_than_pyx12s_read_ahead_is_validated_to_the_end() -> None:
    # pyx12's RawX12File stops, silently, where a segment does not end within its
    # next 8 KB read: validation reads the segments the 835 reader reads, to the end
    clean = (FIXTURES / "era" / "clean-5010.835").read_bytes()
    at = clean.index(b"SE*")
    data = clean[:at] + b"NTE*ADD*" + b"A" * 20_000 + b"~" + clean[at:]
    findings = validate_835(data)
    assert [(f.code, f.segment) for f in findings if f.segment == "NTE"] == [
        ("pyx12-seg-1", "NTE")  # not found in the map there
    ]
    codes = {f.code for f in findings}
    assert "pyx12-st-4" in codes  # SE counts one segment fewer: SE itself was read
    assert not codes & {"pyx12-st-2", "pyx12-gs-3", "pyx12-isa-023"}  # no trailer missing


def _phi(data: bytes) -> set[str]:
    """Names and member ids of NM1*QC / NM1*IL (NM103, NM104, NM109) in a file."""
    text = data.decode("utf-8", "replace")
    values: set[str] = set()
    for match in re.finditer(r"NM1([*|])(QC|IL)\1([^~\n]*)", text):
        elements = match.group(3).split(match.group(1))
        for index in (1, 2, 7):
            if index < len(elements):
                value = elements[index].strip()
                # masked placeholders (XXX, 999) and 1-3 letters say nothing of a person
                if len(value) >= 4 and value.strip("X9") and not value.isdigit():
                    values.add(value)
                if len(value) >= 6 and value.isdigit():
                    values.add(value)
    return values


def test_no_patient_name_or_member_id_reaches_a_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for logger_name in ("pyx12", "app"):
        caplog.set_level(logging.DEBUG, logger=logger_name)
    phi: set[str] = set()
    messages: list[str] = []
    for name in CORPUS + ["../../spec/examples/prairie-2026-06-15.835"]:
        data = shared_path("corpus", "835", name).read_bytes()
        phi |= _phi(data)
        try:
            parse_835(data)
        except X12Rejected as error:
            messages.append(error.message)
            messages.extend(f.message for f in error.findings)
        if len(data) > 40_000:
            continue  # pyx12's validator takes seconds on the big files; same faults
        try:
            findings = validate_835(data)
        except X12Rejected:
            findings = []
        messages.extend(f.message for f in findings)
    assert len(phi) > 40  # the check below has something to find
    logged = [record.getMessage() for record in caplog.records]
    for value in phi:
        assert not any(value in line for line in logged), value
        assert not any(value in line for line in messages), value


def test_maps_are_parsed_once_per_process() -> None:
    from app.x12 import validation

    data = (FIXTURES / "era" / "clean-5010.835").read_bytes()
    validate_835(data)
    cached = dict(validation._maps)
    assert any("835" in name for name in cached)
    validate_835(data)
    assert all(validation._maps[name] is cached[name] for name in cached)
    assert validation._params().get("exclude_external_codes") == "remark_code"


def test_findings_do_not_depend_on_the_files_validated_before() -> None:
    # segments found clean are not checked again (validation._check_segment): a faulty
    # file's findings stay the same whatever was validated first, in any order
    from app.x12 import validation

    names = [
        "tigershark__835-example-2.txt",
        "linuxforhealth-x12__managed-care.835",
        "edi-835-parser__united_healthcare_legacy_sample.txt",
    ]
    datas = [shared_path("corpus", "835", name).read_bytes() for name in names]
    datas.append((FIXTURES / "era" / "clean-5010.835").read_bytes())
    _forget_everything_found_clean()
    first = [validate_835(data) for data in datas]
    assert validation._clean_segments  # the clean segments were remembered
    assert all(len(digest) == 16 for _node, digest in validation._clean_segments)
    values = [key for element in validation._clean_elements for key in element.clean]
    assert values  # and the clean element values
    assert all(len(digest) == 16 for digest in values)
    assert len(validation._walks) == len(datas)  # and each file's walk, by its shape
    assert all(len(digest) == 16 for digest in validation._walks)
    again = [validate_835(data) for data in reversed(datas)]
    assert again == list(reversed(first))
    _forget_everything_found_clean()
    assert [validate_835(data) for data in reversed(datas)] == again


def _forget_everything_found_clean() -> None:
    from app.x12 import validation

    validation._clean_segments.clear()
    validation._walks.clear()
    for element in validation._clean_elements:
        element.clean.clear()


def test_a_faulty_element_value_is_reported_every_time() -> None:
    # an element's values found clean are remembered (validation._CleanElement); a
    # faulty one never is, and a clean one is still clean in another segment
    clean = (FIXTURES / "era" / "clean-5010.835").read_bytes()
    text = clean.decode()
    start = text.index("N1*PR*") + len("N1*PR*")
    faulty = (text[:start] + "X" * 70 + text[start:]).encode()
    _forget_everything_found_clean()
    found = [(f.code, f.segment, f.element) for f in validate_835(faulty)]
    assert ("pyx12-ele-5", "N1", "N102") in found
    for _ in range(2):
        assert [(f.code, f.segment, f.element) for f in validate_835(faulty)] == found
        assert validate_835(clean) == []


def test_a_fault_in_a_segment_seen_clean_elsewhere_is_still_found() -> None:
    clean = (FIXTURES / "era" / "clean-5010.835").read_bytes()
    assert validate_835(clean) == []
    # the same file with one element made too long: its segment is checked again
    text = clean.decode()
    start = text.index("N1*PR*") + len("N1*PR*")
    faulty = (text[:start] + "X" * 70 + text[start:]).encode()
    codes = {(f.code, f.segment) for f in validate_835(faulty)}
    assert ("pyx12-ele-5", "N1") in codes


class _NoWalk:
    """Stands in for pyx12's map walker where a walk must be replayed."""

    def __init__(self) -> None:
        raise AssertionError("the map was walked again")


def _one_claim(trace: str, claim: str) -> bytes:
    template = generate_835(1, trace_number="TRACE00000000")
    return template.replace(b"TRACE00000000", trace.encode()).replace(
        b"CLP*PA000001*", f"CLP*{claim}*".encode()
    )


def test_a_walk_is_replayed_for_a_file_of_the_same_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the map walk reads only segment ids and qualifiers: another file with the same
    # ones in the same order (other trace, claim, amounts) is not walked again, its
    # walk's findings are reported the same, and its element checks still run
    from app.x12 import validation

    validation._walks.clear()
    first = validate_835(_one_claim("TRACE1", "CLAIM1"))
    assert [(f.code, f.segment, f.loop) for f in first] == [("pyx12-seg-3", "N1", "1000A")]
    monkeypatch.setattr(validation, "walk_tree", _NoWalk)

    assert validate_835(_one_claim("TRACE2", "CLAIM2")) == first
    faulty = _one_claim("TRACE3", "X" * 60)  # CLP01 longer than the guide allows
    replayed = validate_835(faulty)
    assert [(f.code, f.segment, f.element) for f in replayed] == [
        ("pyx12-seg-3", "N1", None),
        ("pyx12-ele-5", "CLP", "CLP01"),
    ]
    monkeypatch.undo()
    validation._walks.clear()
    validation._clean_segments.clear()
    assert validate_835(faulty) == replayed  # walked afresh: the same findings


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"N1*PE*", b"N1*ZZ*"),  # a qualifier no map node takes
        (b"CAS*CO*", b"CAS*XY*"),
        (b"CLP*CLAIM4*", b"NM1*QC*1*DOE~\nCLP*CLAIM4*"),  # a segment out of place
    ],
    ids=["payee qualifier", "CAS group", "out of place"],
)
def test_a_file_of_another_shape_is_walked_again(old: bytes, new: bytes) -> None:
    from app.x12 import validation

    validation._walks.clear()
    clean = _one_claim("TRACE4", "CLAIM4")
    before = validate_835(clean)
    changed = clean.replace(old, new, 1)
    assert changed != clean

    findings = validate_835(changed)

    assert len(validation._walks) == 2  # walked, not replayed: a shape of its own
    assert {f.code for f in findings} - {f.code for f in before}  # the map's complaint
    validation._walks.clear()
    validation._clean_segments.clear()
    assert validate_835(changed) == findings
    assert validate_835(clean) == before


def test_the_kept_walks_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.x12 import validation

    validation._walks.clear()
    monkeypatch.setattr(validation, "_walk_steps", 0)
    data = _one_claim("TRACE5", "CLAIM5")
    segments = data.count(b"~")
    monkeypatch.setattr(validation, "_WALK_STEPS_MAX", 10 * segments - 10)
    first = validate_835(data)
    assert validation._walks == {}  # larger than a tenth of the bound: not kept

    monkeypatch.setattr(validation, "_WALK_STEPS_MAX", 10 * segments)
    assert validate_835(data) == first
    assert [len(steps) for steps in validation._walks.values()] == [segments]
    assert validation._walk_steps == segments


# --- a replayed walk is the walk: files that differ only in element values ----------

_VALUE_BASES = [
    (FIXTURES / "era" / f"{name}.835").read_bytes()
    for name in ("clean-5010", "reversal", "svc06-svc07", "plb-only")
]
_ENVELOPE = (b"ISA", b"IEA", b"GS", b"GE", b"ST", b"SE")
# qualifiers the 835's map nodes tell apart by, codes they do not take, and plain values
_VALUES = [b"PR", b"PE", b"QC", b"IL", b"74", b"82", b"2U", b"TJ", b"6R", b"CO", b"PR", b"OA"]
_VALUES += [b"405", b"472", b"232", b"B6", b"AU", b"ZZ", b"XX", b"1", b"22", b"", b"X" * 3]


@st.composite
def _values_changed(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with some elements' values replaced, every segment id kept."""
    segments = data.split(b"~")
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(segments) - 1))
        elements = segments[index].split(b"*")
        if elements[0].strip() in _ENVELOPE or len(elements) < 2:
            continue
        at = draw(st.integers(1, len(elements) - 1))
        elements[at] = draw(st.sampled_from(_VALUES))
        segments[index] = b"*".join(elements)
    return b"~".join(segments)


@st.composite
def _alike_files(draw: st.DrawFn) -> tuple[bytes, bytes]:
    base = draw(st.sampled_from(_VALUE_BASES))
    return draw(_values_changed(base)), draw(_values_changed(base))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=_alike_files())
def test_a_file_validated_after_a_look_alike_gets_its_own_walks_findings(
    files: tuple[bytes, bytes],
) -> None:
    """Two files with the same segment ids and other element values: the second's
    findings are the same whether its walk is replayed from the first's shape (when
    the shapes match) or walked afresh."""
    from app.x12 import validation

    first, second = files
    findings: list[list[Finding] | str] = []
    for primed in (False, True):
        validation._walks.clear()
        validation._clean_segments.clear()
        try:
            if primed:
                validate_835(first)
            findings.append(validate_835(second))
        except X12Rejected as exc:
            findings.append(f"rejected: {exc.findings}")
    assert findings[1] == findings[0]


# ---- pyx12's reading, without a Segment for each plain body segment (validation._read)

_ISA = (
    "ISA*00*          *00*          *ZZ*PAYERSENDER    *ZZ*PRACTICERCV    *260615*1200*^*"
    "00501*000000001*0*P*:~"
)
# what pyx12 tracks, complains about or only counts: envelopes and their trailers
# (right and wrong counts and control numbers), HL (right and wrong), an 837's CLM
# and LX, body segments plain, empty, with a bad id, a leading blank, a trailing
# separator, components, lower case, an id of 1 or 4 characters, a line break
_SEGMENTS = [
    "GS*HP*S*R*20260615*1200*7*X*005010X221A1",
    "GS*HP*S*R*20260615*1200*7*X*005010X221A1*",
    "ST*835*0001",
    "ST*835*0002*005010X221A1",
    "SE*4*0001",
    "SE*9*0002",
    "GE*1*7",
    "GE*2*8",
    "IEA*1*000000001",
    "IEA*3*000000009",
    "HL*1**20*1",
    "HL*2*1*22*0",
    "HL*5*9*22",
    "HL*",
    "CLM*A1*100",
    "LX*1",
    "LX*7",
    "LX",
    "N1*PR*ACME",
    " N1*PE*CLINIC*XX*1234567893",
    "  REF*TJ*1",
    "CLP*A1*1*100*90**12*B2*11",
    "SVC*HC:64493:50*100*90**1",
    "SVC*HC::*1",
    "CAS*CO*45*10",
    "N1**",
    "N1*:*:",
    "N1*A*",
    "DTM*472*20260101**",
    "n1*pr*x",
    "N*A",
    "N123*A",
    "1N*A",
    "*A*B",
    "N1\n*A",
    "AMT*B6*90\r",
    "PLB*1234567893*20261231*WO:X*10",
]


@settings(max_examples=400, deadline=None)
@given(
    segments=st.lists(
        st.one_of(st.sampled_from(_SEGMENTS), st.text(alphabet="NHLS1A*:^ \n", max_size=12)),
        max_size=30,
    ),
    terminator=st.sampled_from(["~", "~\n", "~\r\n"]),
    check_837_lx=st.booleans(),
)
def test_validation_reads_segments_as_pyx12s_reader_does(
    segments: list[str], terminator: str, check_837_lx: bool
) -> None:
    """``validation._read`` makes a pyx12 ``Segment`` only of the segments pyx12
    tracks or would complain about, and counts the rest. Segment by segment it gives
    what iterating pyx12's ``X12Reader`` gives: the identifier, the count, line and
    loop, the complaints recorded, the ``Segment`` with its values (made from the
    segment's text when asked for), and the same exception where reading stops."""
    import pyx12.x12file

    from app.x12 import validation
    from app.x12.segments import SegmentReader, TextSource

    text = _ISA + terminator.join(segments) + (terminator if segments else "")

    expected: list[object] = []
    src = pyx12.x12file.X12Reader(TextSource(text))
    src.check_837_lx = check_837_lx
    made = []
    try:
        for seg in src:
            made.append(seg)
            expected.append((seg.get_seg_id(), src.seg_count, src.cur_line, src.get_ls_id()))
            expected.append(src.pop_errors())
    except Exception as exc:  # noqa: BLE001 - where and how reading stops is compared
        expected.append(("raised", type(exc).__name__, str(exc)))

    got: list[object] = []
    lean = SegmentReader(TextSource(text))
    lean.check_837_lx = check_837_lx
    read: list[validation._Read] = []
    try:
        validation._read(lean, read, lambda item: None)
    except Exception as exc:  # noqa: BLE001
        raised: tuple[str, str, str] | None = ("raised", type(exc).__name__, str(exc))
    else:
        raised = None
    for item in read:
        got.append((item.seg_id, item.seg_count, item.line, item.ls_id))
        got.append(item.errors)
    if raised is not None:
        got.append(raised)
    assert got == expected
    assert [item.seg() for item in read] == made


def test_reference_designators_parse_as_pyx12_parses_them() -> None:
    """``Segment.get`` keeps each designator's parse (segments._parse_refdes): the
    same element, component or error as pyx12's own parse, the second time too."""
    import pyx12.path
    import pyx12.segment

    def pyx12s(seg: pyx12.segment.Segment, ref_des: str) -> object:
        try:
            path = pyx12.path.X12Path(ref_des)
        except Exception as exc:  # noqa: BLE001
            return ("raised", type(exc).__name__, str(exc))
        if path.seg_id is not None and path.seg_id != seg.seg_id:
            return (
                "raised",
                "EngineError",
                f"Invalid Reference Designator: {ref_des}, seg_id: {seg.seg_id}",
            )
        ele = path.ele_idx - 1 if path.ele_idx is not None else None
        comp = path.subele_idx - 1 if path.subele_idx is not None else None
        return (ele, comp)

    def ours(seg: pyx12.segment.Segment, ref_des: str) -> object:
        try:
            return seg._parse_refdes(ref_des)
        except Exception as exc:  # noqa: BLE001
            return ("raised", type(exc).__name__, str(exc))

    seg = pyx12.segment.Segment("SVC*HC:64493*100*90", "~", "*", ":")
    designators = ["SVC01", "SVC01-2", "01", "03-1", "02", "CLP01", "ISA13", "1", "SVC1-1"]
    designators += ["", "SVC", "/SVC01", "SVC01-", "SVCXX", "SVC[HC]01", "SVC00", "SVC99-99"]
    for _ in range(2):
        for ref_des in designators:
            assert ours(seg, ref_des) == pyx12s(seg, ref_des), ref_des
    assert seg.get_value("SVC01-2") == "64493"
    assert seg.get_value("03") == "90"


def test_map_segments_find_their_elements_as_pyx12_does() -> None:
    """Each map segment finds an element by position from a table made once
    (validation._ChildByIndex): what pyx12's search finds, or its error."""
    import pyx12.map_if

    from app.x12 import validation

    validation.load_maps()
    checked = 0
    for map_root in list(validation._maps.values()):
        for node in map_root.loop_segment_iterator():
            if not node.is_segment():
                continue
            table = node.get_child_node_by_idx
            assert isinstance(table, validation._ChildByIndex)
            search = pyx12.map_if.segment_if.get_child_node_by_idx.__get__(node)
            for idx in range(-1, len(node.children) + 2):
                try:
                    expected: object = search(idx)
                except Exception as exc:  # noqa: BLE001
                    expected = ("raised", str(exc))
                try:
                    found: object = table(idx)
                except Exception as exc:  # noqa: BLE001
                    found = ("raised", str(exc))
                assert found is expected if not isinstance(expected, tuple) else found == expected
                checked += 1
    assert checked > 1000
