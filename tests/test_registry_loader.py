"""Reading registry YAML: files and directories, merged, every declaration with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lineage.errors import RegistryError
from lineage.registry import load_registry
from lineage.registry.loader import registry_files

SYSTEMS = """\
systems:
  - name: CRM
    owner: sales-ops@example.com
  - name: ERP
    owner: finance@example.com
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load_error(*paths: Path | str) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        load_registry(list(paths))
    return caught.value


def test_every_declaration_remembers_its_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "crm.yaml",
        SYSTEMS
        + textwrap.dedent("""\
        elements:
          - name: customer.address
            system_of_record: CRM
            owner: carol@example.com
        integrations:
          - name: crm-to-erp
            source: CRM
            target: ERP
            owner: dave@example.com
            carries:
              - element: customer.address
                transform: upper
        waivers:
          - code: missing-purpose
            subject: {integration: crm-to-erp}
            reason: migrating
            owner: dave@example.com
        """),
    )
    registry = load_registry([path])
    name = str(path)
    assert [str(s.location) for s in registry.systems] == [f"{name}:2", f"{name}:4"]
    assert str(registry.elements[0].location) == f"{name}:7"
    integration = registry.integrations[0]
    assert str(integration.location) == f"{name}:11"
    assert str(integration.carries[0].location) == f"{name}:16"
    assert str(registry.waivers[0].location) == f"{name}:19"
    assert registry.files == (name,)


def test_a_directory_is_read_whole_sorted_and_recursively(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    write(root / "systems.yaml", SYSTEMS)
    write(
        root / "teams" / "finance.yml",
        """\
        elements:
          - {name: invoice.total, system_of_record: ERP, owner: c@example.com}
        """,
    )
    write(
        root / "crm.yaml",
        """\
        elements:
          - {name: customer.name, system_of_record: CRM, owner: c@example.com}
        """,
    )
    write(root / "notes.txt", "not a registry")
    write(root / ".hidden" / "draft.yaml", "this: is not read")
    registry = load_registry([root])
    assert registry.files == (
        str(root / "crm.yaml"),
        str(root / "systems.yaml"),
        str(root / "teams" / "finance.yml"),
    )
    assert [e.name for e in registry.elements] == ["customer.name", "invoice.total"]
    finance = registry.element("invoice.total")
    assert finance is not None and finance.location is not None
    assert finance.location.file == str(root / "teams" / "finance.yml")
    assert finance.location.line == 2


def test_file_names_are_the_given_path_joined_with_the_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "registry" / "finance.yaml", SYSTEMS)
    monkeypatch.chdir(tmp_path)
    registry = load_registry(["registry"])
    assert registry.systems[0].location is not None
    assert registry.systems[0].location.file == "registry/finance.yaml"


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    path = write(tmp_path / "registry" / "systems.yaml", SYSTEMS)
    assert len(registry_files([tmp_path / "registry", path])) == 1
    assert len(load_registry([tmp_path / "registry", path]).systems) == 2


def test_files_merge_with_lookups_and_durations(tmp_path: Path) -> None:
    write(
        tmp_path / "a.yaml",
        SYSTEMS
        + textwrap.dedent("""\
        integrations:
          - name: crm-to-erp
            source: CRM
            target: ERP
            timeout: 15m
        lookups:
          country_names: {DE: Germany, NO: Norway}
        """),
    )
    write(
        tmp_path / "b.yaml",
        """\
        lookups:
          vat_rates:
            DE: 0.19
            1: true
        """,
    )
    registry = load_registry([tmp_path])
    assert registry.lookups == {
        "country_names": {"DE": "Germany", "NO": "Norway"},
        "vat_rates": {"DE": "0.19", "1": "true"},
    }
    assert registry.integrations[0].timeout.total_seconds() == 900


def test_an_empty_file_declares_nothing(tmp_path: Path) -> None:
    write(tmp_path / "empty.yaml", "# nothing here yet\n")
    write(tmp_path / "systems.yaml", SYSTEMS)
    assert len(load_registry([tmp_path]).systems) == 2


def test_malformed_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.yaml",
        """\
        systems:
          - name: CRM
            owner: [a@example.com
          - name: ERP
        """,
    )
    error = load_error(path)
    assert error.file == str(path)
    assert error.line == 4
    assert str(error).startswith(f"{path}:4: not valid YAML")


def test_a_duplicate_key_is_malformed_yaml_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "dup.yaml",
        """\
        systems:
          - name: CRM
            owner: a@example.com
            owner: b@example.com
        """,
    )
    error = load_error(path)
    assert (error.line, "duplicate key" in str(error)) == (4, True)


def test_an_unknown_section_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "x.yaml", SYSTEMS + "sytems: []\n")
    error = load_error(path)
    assert error.line == 6
    assert "unknown section 'sytems'" in str(error)


def test_an_unknown_key_names_the_key_its_line_and_the_allowed_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.yaml",
        """\
        elements:
          - name: order.total
            system_of_record: ERP
            sytem_of_origin: Shop
        """,
    )
    error = load_error(path)
    assert error.line == 4
    assert "element 'order.total': unknown key 'sytem_of_origin'" in str(error)
    assert "system_of_origin" in str(error)


def test_an_unknown_key_in_a_carry_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.yaml",
        """\
        integrations:
          - name: crm-to-erp
            source: CRM
            target: ERP
            carries:
              - element: customer.address
                transfrom: upper
        """,
    )
    error = load_error(path)
    assert error.line == 7
    assert "carries[0]: unknown key 'transfrom'" in str(error)


def test_location_is_not_a_key_a_file_may_set(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.yaml",
        """\
        systems:
          - name: CRM
            location: here
        """,
    )
    assert load_error(path).line == 3


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("systems:\n  - name: CRM\n    owner: [a, b]\n", 3, "owner"),
        ("elements:\n  - name: x.y\n    type: money\n", 3, "type"),
        (
            "integrations:\n  - name: i\n    source: A\n    target: B\n    level: basement\n",
            5,
            "level",
        ),
        (
            "integrations:\n  - name: i\n    source: A\n    target: B\n    timeout: soon\n",
            5,
            "timeout",
        ),
        ("elements:\n  - name: x.y\n    rules: [{min: zero}]\n", 3, "rules"),
        ("elements:\n  - name: x.y\n    rules: [positive]\n", 3, "unknown rule"),
        (
            "integrations:\n  - name: i\n    source: A\n    target: B\n    carries: [upper]\n",
            5,
            "carries",
        ),
        ("systems:\n  - owner: a@example.com\n", 2, "has no 'name'"),
        ("systems:\n  name: CRM\n", 1, "is a list"),
        ("systems:\n  - CRM\n", 2, "mapping"),
        ("- systems\n", 1, "mapping of sections"),
    ],
)
def test_a_wrong_shape_or_type_names_the_line(
    tmp_path: Path, body: str, line: int, words: str
) -> None:
    path = write(tmp_path / "x.yaml", body)
    error = load_error(path)
    assert (error.file, error.line) == (str(path), line)
    assert words in str(error)


def test_a_missing_path_is_an_error_naming_it(tmp_path: Path) -> None:
    error = load_error(tmp_path / "nowhere")
    assert error.file == str(tmp_path / "nowhere")
    assert "no such file or directory" in str(error)


def test_a_directory_without_yaml_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "registry").mkdir()
    assert "no *.yaml or *.yml file" in str(load_error(tmp_path / "registry"))


def test_text_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("systems:\n  - name: Straße\n".encode("latin-1"))
    error = load_error(path)
    assert (error.line, "UTF-8" in str(error)) == (2, True)


def test_a_lookup_table_declared_in_two_files_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "lookups:\n  countries: {DE: Germany}\n")
    write(tmp_path / "b.yaml", "lookups:\n  countries: {AT: Austria}\n")
    error = load_error(tmp_path)
    assert error.file == str(tmp_path / "b.yaml")
    assert error.line == 2
    assert f"{tmp_path / 'a.yaml'}:2" in str(error)


@pytest.mark.parametrize(
    ("waiver", "line", "words"),
    [
        (
            "  - code: missing-ownr\n    subject: {system: CRM}\n    reason: r\n    owner: o\n",
            2,
            "unknown finding code 'missing-ownr'",
        ),
        ("  - code: missing-owner\n    reason: r\n    owner: o\n", 2, "no subject"),
        (
            "  - code: missing-owner\n    subject: {}\n    reason: r\n    owner: o\n",
            3,
            "names no subject",
        ),
        (
            "  - code: missing-owner\n    subject: {team: x}\n    reason: r\n    owner: o\n",
            3,
            "unknown subject key 'team'",
        ),
        ("  - code: missing-owner\n    subject: {system: CRM}\n    owner: o\n", 2, "no reason"),
        ("  - code: missing-owner\n    subject: {system: CRM}\n    reason: r\n", 2, "no owner"),
        (
            "  - code: unused-waiver\n    subject: {system: CRM}\n    reason: r\n    owner: o\n",
            2,
            "cannot waive",
        ),
        (
            "  - code: missing-owner\n    subject: {system: CRM}\n    reason: r\n    owner: o\n"
            "    expires: someday\n",
            6,
            "expires",
        ),
    ],
)
def test_a_waiver_must_name_a_known_code_a_subject_a_reason_and_an_owner(
    tmp_path: Path, waiver: str, line: int, words: str
) -> None:
    path = write(tmp_path / "w.yaml", "waivers:\n" + waiver)
    error = load_error(path)
    assert error.line == line
    assert words in str(error)


def test_a_waiver_for_a_numeric_record_key_matches_it_as_text(tmp_path: Path) -> None:
    path = write(
        tmp_path / "w.yaml",
        """\
        waivers:
          - code: conflicting-truth
            subject: {system: ERP, record: 40017}
            reason: migrated by hand
            owner: controller@example.com
            expires: 2027-03-31
        """,
    )
    waiver = load_registry([path]).waivers[0]
    assert waiver.subject == {"system": "ERP", "record": "40017"}
    assert waiver.expires is not None and waiver.expires.isoformat() == "2027-03-31"


def test_anchors_and_merge_keys_are_read_and_a_redefined_anchor_is_no_warning(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "x.yaml",
        """\
        systems:
          - &crm {name: CRM, owner: sales-ops@example.com}
          - &crm {name: ERP, owner: finance@example.com}
        integrations:
          - &defaults
            name: crm-to-erp
            source: CRM
            target: ERP
            owner: dave@example.com
          - <<: *defaults
            name: crm-to-erp-nightly
            mode: batch
        """,
    )
    registry = load_registry([path])
    nightly = registry.integration("crm-to-erp-nightly")
    assert nightly is not None
    assert (nightly.source, nightly.owner, nightly.mode) == ("CRM", "dave@example.com", "batch")
    assert nightly.location is not None and nightly.location.line == 10
