"""The package's import order, read from the source (no module is imported here).

fer_kit's modules form layers, and data flows one way through them (README,
"How the code is laid out")::

    atomic, resources -> backend -> config -> data -> preprocess, augment
        -> models, pretrained -> train -> evaluate, theory -> vis -> ablation -> plots
        -> keras_vis, legacy, cli, notebooks

A module imports only from its own layer or layers to its left, counting imports inside
functions too, and the import graph has no cycle. An import inside a function is kept for
an optional or slow dependency only, and carries a comment saying which. Only
``fer_kit.backend`` imports TensorFlow, JAX or PyTorch, or asks Keras which backend runs.
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fer_kit"

#: left to right; a module belongs to the first entry that is it or a package above it
LAYERS = [
    ("fer_kit.atomic", "fer_kit.resources"),
    ("fer_kit.backend", "fer_kit._backend", "fer_kit._keras_internals"),
    ("fer_kit.config",),
    ("fer_kit.data",),
    ("fer_kit.preprocess", "fer_kit.augment", "fer_kit.pipeline"),
    ("fer_kit.models", "fer_kit.pretrained"),
    ("fer_kit.train",),
    ("fer_kit.evaluate", "fer_kit.theory"),
    ("fer_kit.vis",),
    ("fer_kit.ablation",),
    ("fer_kit.plots",),
    ("fer_kit.keras_vis", "fer_kit.legacy", "fer_kit.cli", "fer_kit.notebooks",
     "fer_kit.__main__"),
]
BACKEND_PACKAGES = {"tensorflow", "jax", "jaxlib", "torch"}
#: asking Keras which backend runs: keras.backend.backend(), keras.config.backend()
BACKEND_QUERY = re.compile(r"\bbackend\.backend\(\)|\bconfig\.backend\(\)")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def where(module: str) -> str:
    path = MODULES[module]
    return str(path.relative_to(PACKAGE.parent)) if path.is_relative_to(PACKAGE.parent) else str(path)


def layer_of(module: str) -> int:
    """Index in LAYERS. The package's ``__init__`` imports only config and the backend
    selection (the other modules load on first use, through ``__getattr__``), so it sits in
    the backend layer, and any module may read ``fer_kit.__version__``."""
    if module == "fer_kit":
        return layer_of("fer_kit.backend")
    for i, names in enumerate(LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return i
    raise AssertionError(f"{module} is in no layer of tests/test_layers.py: add it to LAYERS")


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for each name an import statement binds."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    in_function = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            prefix = ".".join(p for p in (base, node.module or "") if p)
            # `from . import plots` imports the module fer_kit.plots; `from .io import load` fer_kit.data.io
            targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]
        else:
            continue
        found += [(t, node.lineno, id(node) in in_function) for t in targets]
    return found


def own_edges() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in imports(m) if t in MODULES and t != m} for m in MODULES}


def test_every_module_has_a_layer():
    for m in MODULES:
        layer_of(m)


def test_no_module_imports_from_a_layer_to_its_right():
    back = [f"{where(m)}:{line} imports {t} "
            f"(layer {layer_of(t)} > {layer_of(m)})"
            for m in MODULES for t, line, _ in imports(m)
            if t in MODULES and t != m and layer_of(t) > layer_of(m)
            # a package's __init__ may re-export its own submodules
            and not t.startswith(m + ".")]
    assert not back, "back edges:\n" + "\n".join(back)


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state and (c := visit(t)):
                return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state and (c := visit(m)):
            return c
    return None


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(own_edges())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_an_import_inside_a_function_says_why():
    """Kept for optional or slow dependencies; the comment on its line or the line above says which."""
    bare = []
    for m, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for _, line, inside in {(None, ln, i) for _, ln, i in imports(m)}:
            if inside and "#" not in lines[line - 1] and not (line > 1 and lines[line - 2].strip().startswith("#")):
                bare.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {lines[line - 1].strip()}")
    assert not bare, "imports inside functions without a comment saying why:\n" + "\n".join(sorted(bare))


def test_only_the_backend_module_touches_a_backend():
    found = []
    for m, path in MODULES.items():
        if layer_of(m) == layer_of("fer_kit.backend"):
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{where(m)}:{line} imports {t}"
                  for t, line, _ in imports(m) if t.split(".")[0] in BACKEND_PACKAGES]
        found += [f"{where(m)}:{text[:match.start()].count(chr(10)) + 1} "
                  f"asks which backend runs" for match in BACKEND_QUERY.finditer(text)]
    assert not found, "backend code outside fer_kit.backend:\n" + "\n".join(found)


# The checks above must be able to fail: each is run on a graph or a source with the fault put in.
def test_find_cycle_finds_a_cycle_and_passes_a_chain():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_a_back_edge_is_reported(tmp_path, monkeypatch):
    fake = dict(MODULES)
    src = tmp_path / "config.py"
    src.write_text("from . import plots\n")
    fake["fer_kit.config"] = src
    monkeypatch.setattr(sys.modules[__name__], "MODULES", fake)
    with pytest.raises(AssertionError, match=r"imports fer_kit.plots \(layer 10 > 2\)"):
        test_no_module_imports_from_a_layer_to_its_right()
