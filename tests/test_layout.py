"""The layout keeps its rooms: no import circle, no import from a room above, docs/architecture.md current."""
from pathlib import Path

from streams import layout


def test_no_import_circle():
    assert layout.cycles(layout.graph()) == []


def test_no_module_imports_from_a_room_above_its_own():
    assert layout.upward(layout.graph()) == []


def test_pure_core_imports_no_kafka_redis_or_faust():
    import ast

    for path in (layout.ROOT / "streams" / "core").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not names & {"kafka", "confluent_kafka", "aiokafka", "redis", "faust"}, path.name


def test_the_architecture_page_is_current():
    page = Path(layout.ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert page == layout.render(), "run: python -m streams.layout"
