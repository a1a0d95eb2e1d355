"""The package's structure, read from its source with ``ast``: layers, cycles, sizes, signatures.

Imports run one way only (DESIGN §3, issue 18):

    command line → practical and study → algorithms → model → engine

Every ``import`` in a module counts, at module level or inside a function, so a
cycle cannot hide in a late import. Importing ``lmtrain.a.b`` from outside the
package ``lmtrain.a`` also imports ``lmtrain.a`` itself (its ``__init__``);
that counts too. Within a package, its modules importing each other and the
package importing them are the ordinary case and count as written.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lmtrain"

#: lowest first; a module may import modules of its own layer or lower ones
LAYERS = ("engine", "model", "algorithms", "study", "command line")


def layer_of(module: str) -> str:
    """The layer of ``lmtrain.<...>``."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if top in ("cli", "__main__"):
        return "command line"
    if top in ("_validation", "_clock", "activations", "kernels"):
        return "engine"
    if top in ("network", "datasets", "result"):
        return "model"
    if top == "algorithms":
        return "algorithms"
    return "study"  # the package's face, training, experiments, progress, plotting, fitting, files, trace, labs


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _package_of(module: str) -> str:
    """The package a module's relative imports start from."""
    return module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]


def _imports(module: str) -> set[str]:
    """The lmtrain modules ``module`` imports, with the packages that importing them runs."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name == "lmtrain" or a.name.startswith("lmtrain.")]
            found.update(names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module).split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == "lmtrain" or node.module.startswith("lmtrain.")):
                target = node.module
            else:
                continue
            submodules = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
            found.update(submodules)  # ``from pkg import module``
            if len(submodules) < len(node.names):  # names defined in ``target`` itself
                found.add(target)
    edges = set()
    for target in found:
        if target not in MODULES:
            continue
        edges.add(target)
        parts = target.split(".")
        for i in range(2, len(parts)):  # the enclosing packages of a module outside them
            package = ".".join(parts[:i])
            if not (module == package or module.startswith(package + ".")):
                edges.add(package)
    edges.discard(module)
    return edges


GRAPH = {m: _imports(m) for m in MODULES}


def _where(module: str) -> str:
    return str(MODULES[module].relative_to(ROOT.parent))


def test_the_module_map_is_read():
    """The reader sees the package (else the tests below check nothing)."""
    assert {"lmtrain.kernels.forward", "lmtrain.algorithms.lm", "lmtrain.network", "lmtrain.cli"} <= set(MODULES)
    assert "lmtrain.kernels" in GRAPH["lmtrain.network"]
    assert "lmtrain.algorithms.workspace" in GRAPH["lmtrain.algorithms.lm"]


def test_imports_run_down_the_layers():
    wrong = []
    for module, targets in GRAPH.items():
        for target in targets:
            if LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(module)):
                wrong.append(f"{_where(module)} ({layer_of(module)}) imports {_where(target)} ({layer_of(target)})")
    assert not wrong, "imports against the layer order:\n" + "\n".join(sorted(wrong))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    cycles = _cycles(GRAPH)
    lines = []
    for comp in cycles:
        members = set(comp)
        ties = [f"{_where(a)} -> {_where(b)}" for a in comp for b in sorted(GRAPH[a] & members)]
        lines.append("cycle: " + ", ".join(_where(m) for m in comp) + "\n  " + "\n  ".join(ties))
    assert not cycles, "\n".join(lines)


def test_the_checks_catch_a_cycle_and_a_wrong_way_import():
    """The two checks above fail where they should (on a made-up graph)."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert LAYERS.index(layer_of("lmtrain.kernels.forward")) < LAYERS.index(layer_of("lmtrain.algorithms.lm"))
    assert layer_of("lmtrain.monitor") == "study" and layer_of("lmtrain.cli.fit") == "command line"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= 500, f"{_where(module)} has {lines} lines"


def test_no_function_takes_more_than_eight_positional_parameters():
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                n = len(node.args.posonlyargs) + len(node.args.args)
                if n > 8:
                    name = getattr(node, "name", "lambda")
                    long.append(f"{_where(module)}:{node.lineno} {name} takes {n} positional parameters")
    assert not long, "\n".join(long)
