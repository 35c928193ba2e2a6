"""README.md as a user reads it: every Python block parses and every name it uses exists;
every ``rewarddesign`` command line and flag it shows is one the CLI's parser has; every
repository path it names is there. Under ``-m slow`` every Python block runs.

Names: in the Python blocks, attribute chains on ``import``-ed or ``from ... import``-ed
names (``rd.wrappers.vec_env.ConstrainedReward``, ``ValueIterationOracle.from_env``) are
resolved by import, and keyword arguments are checked against the signature of a callee
that takes no ``**kwargs``; in the prose, ``rd.xxx`` and ``rewarddesign.xxx.yyy`` chains
too. Commands: every ``rewarddesign ...`` line of a bash block and every inline
```rewarddesign CMD ...``` or ```CMD --flag ...``` (CMD a command of the parser) walks
the subparsers of :func:`rewarddesign.cli.main.build_parser` and checks each ``--flag``
against the parser it reaches; a bare inline ```--flag``` must belong to some command.
Everything is derived from the parser, so new commands and flags are covered as they
land.

Running (slow): the blocks run in one temporary working folder (files one block writes,
the next may read). A block that uses names another defines runs after the blocks it
continues from, in one namespace. A bash block right before a Python block under the same
heading makes what the Python block reads (an expert's folder): its ``rewarddesign``
lines run first, through :func:`rewarddesign.cli.main.main`. Budgets are shrunk so that
the whole README runs in minutes: ``rd.run`` and ``rd.tune`` are wrapped to cap the
budget (given or default) at ``README_BUDGET`` env steps (default 4096) and ``trials`` at
``README_TRIALS`` (default 2); the numbers of ``.learn(N`` / ``total_timesteps=N`` in a
Python block and of ``--steps``, ``--budget`` and ``--trials`` on a command line get the
same caps. Nothing else changes. One block alone: ``pytest -m slow tests/test_readme.py
-k line282`` (its README line number; the blocks it continues from run first).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import contextlib
import functools
import importlib
import inspect
import io
import os
import re
import shlex
from pathlib import Path

import pytest

from rewarddesign.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
BUDGET = int(os.environ.get("README_BUDGET", "4096"))
TRIALS = int(os.environ.get("README_TRIALS", "2"))


def _heading_at(pos: int) -> str:
    headings = re.findall(r"^#+ (.*)$", README[:pos], re.M)
    return headings[-1] if headings else "top"


BLOCKS = [
    (m.start(), _heading_at(m.start()), m.group(1), m.group(2)) for m in FENCE.finditer(README)
]
PYTHON = [(pos, head, src) for pos, head, lang, src in BLOCKS if lang == "python"]
BASH = [(pos, head, src) for pos, head, lang, src in BLOCKS if lang == "bash"]
PROSE = FENCE.sub("", README)  # the text outside the code blocks
INLINE = [" ".join(c.split()) for c in re.findall(r"`([^`]+)`", PROSE)]


def _block_id(block) -> str:
    pos, head, _ = block
    return f"line{README[:pos].count(chr(10)) + 1}-{head.split(':')[0]}"


# ---------------------------------------------------------------------------- names


def _bound_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted import path it is bound to, for the block's imports."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def resolve(dotted: str):
    """The object a dotted path names: the longest importable module, then attributes.

    Raises:
        AttributeError, ImportError: If no such object exists.
    """
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            if i == 1:
                raise
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def _chain(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything but names and attributes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def _names_of(tree: ast.Module, bound: dict[str, str]):
    """(dotted path, call node or None) of every chain on an imported name."""
    calls = {id(n.func): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load):
            chain = _chain(node)
            if chain and chain[0] in bound:
                yield ".".join([bound[chain[0]], *chain[1:]]), calls.get(id(node))


def _check_keywords(obj, call: ast.Call, where: str) -> None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):  # builtins and C callables without one
        return
    params = sig.parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    names = {p.name for p in params}
    for kw in call.keywords:
        assert kw.arg is None or kw.arg in names, f"{where}: {kw.arg}= is not a parameter"


@pytest.mark.parametrize("block", PYTHON, ids=_block_id)
def test_python_block_parses_and_its_names_exist(block):
    tree = ast.parse(block[2])
    bound = _bound_names(tree) | {"rd": "rewarddesign"}  # blocks continue from the first
    for dotted, call in _names_of(tree, bound):
        obj = resolve(dotted)  # an ImportError or AttributeError names what is missing
        if call is not None and callable(obj):
            _check_keywords(obj, call, dotted)


def test_the_prose_names_only_what_exists():
    chains = set(re.findall(r"\b(rd(?:\.[A-Za-z_]\w*)+)", PROSE))
    chains |= set(re.findall(r"\b(rewarddesign(?:\.[A-Za-z_]\w*)+)", PROSE))
    assert chains, "the prose names no rd.xxx chain: the pattern is broken"
    for dotted in sorted(chains):
        resolve(dotted.replace("rd.", "rewarddesign.", 1) if dotted.startswith("rd.") else dotted)


def test_the_repository_paths_it_names_exist():
    paths = {
        p.rstrip("/.,")
        for p in re.findall(
            r"\b((?:rewarddesign|envs|agents|benchmarks|tests)/[\w./*{},-]*)", README
        )
    }
    missing = []
    for path in sorted(paths):
        if "{" in path:  # agents/{sac,td3,ppo}.yaml
            head, alts, tail = re.match(r"(.*)\{(.*)\}(.*)", path).groups()
            expanded = [head + a + tail for a in alts.split(",")]
        else:
            expanded = [path]
        missing += [p for p in expanded if not any(ROOT.glob(p))]
    assert not missing


# ---------------------------------------------------------------------------- CLI


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


PARSER = build_parser()
COMMANDS = _subparsers(PARSER)


def _all_parsers(parser: argparse.ArgumentParser):
    yield parser
    for sub in _subparsers(parser).values():
        yield from _all_parsers(sub)


ALL_FLAGS = {f for p in _all_parsers(PARSER) for f in p._option_string_actions}


def check_command(words: list[str], where: str) -> None:
    """``words`` after ``rewarddesign``: walk the subcommands, then check every flag."""
    parser, path = PARSER, ["rewarddesign"]
    for word in words:
        subs = _subparsers(parser)
        if not subs or word.startswith("-"):
            break
        assert word in subs, f"{where}: {' '.join(path)} has no command {word!r} ({sorted(subs)})"
        parser, path = subs[word], [*path, word]
    for word in words:
        if word.startswith("--"):
            flag = word.split("=")[0]
            assert flag in parser._option_string_actions, (
                f"{where}: {' '.join(path)} has no flag {flag}"
            )


def check_line(words: list[str], where: str) -> None:
    """A whole command line: :func:`check_command`, then the parser parses it (choices,
    types, required arguments)."""
    check_command(words, where)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            PARSER.parse_args(words)
    except SystemExit as exc:
        raise AssertionError(f"{where}: {err.getvalue().strip().splitlines()[-1]}") from exc


def _command_lines(script: str):
    """The ``rewarddesign`` command lines of a bash block, split as the shell does
    (quotes, continuations, comments)."""
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["rewarddesign"]:
            yield words[1:]


def test_every_bash_command_and_flag_exists():
    seen = 0
    for block in BASH:
        for words in _command_lines(block[2]):
            check_line(words, f"{_block_id(block)}: rewarddesign {' '.join(words)}")
            seen += 1
    assert seen >= 10  # the blocks do show commands: the extraction works


def test_every_inline_command_and_flag_exists():
    checked = 0
    for code in INLINE:
        words = code.split()
        if words[0] == "rewarddesign" and len(words) > 1:
            check_command(words[1:], f"inline `{code}`")
            checked += 1
        elif words[0] in COMMANDS and len(words) > 1 and words[1].startswith("-"):
            check_command(words, f"inline `{code}`")  # `tune --workers W`
            checked += 1
        for word in words if words[0].startswith("--") else []:  # `--heartbeat`
            if re.fullmatch(r"--[a-z][\w-]*(=.*)?", word):
                assert word.split("=")[0] in ALL_FLAGS, f"inline `{code}`: no command has {word}"
    assert checked >= 3


def test_the_checker_refuses_what_the_cli_lacks():
    with pytest.raises(AssertionError, match="has no command 'nope'"):
        check_command(["nope"], "t")
    with pytest.raises(AssertionError, match="rewarddesign bench has no flag --nope"):
        check_command(["bench", "quick", "--nope", "1"], "t")
    with pytest.raises(AssertionError, match="invalid choice: 'nope'"):
        check_line(["expert", "nope"], "t")
    with pytest.raises(AssertionError, match="invalid int value: 'many'"):
        check_line(["train", "classic/Pendulum-v1", "--budget", "many"], "t")
    with pytest.raises(AttributeError):
        resolve("rewarddesign.wrappers.NoSuchWrapper")


# ---------------------------------------------------------------------------- running


def _defines(tree: ast.Module) -> set[str]:
    out = set(_bound_names(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            out.add(node.name)
    return out


def _uses(tree: ast.Module) -> set[str]:
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    args = {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    return names - _defines(tree) - args - set(dir(builtins))


def _dependencies() -> dict[int, list[int]]:
    """Block index -> the earlier blocks it continues from (the last to define each
    name it uses but does not define), transitively, in README order."""
    trees = [ast.parse(src) for _, _, src in PYTHON]
    direct: dict[int, set[int]] = {}
    for i, tree in enumerate(trees):
        direct[i] = set()
        for name in _uses(tree):
            owners = [j for j in range(i) if name in _defines(trees[j])]
            assert owners, f"{_block_id(PYTHON[i])} uses {name!r}, which no block before defines"
            direct[i].add(owners[-1])

    @functools.cache
    def closure(i: int) -> frozenset[int]:
        return frozenset(direct[i]).union(*(closure(j) for j in direct[i]))

    return {i: sorted(closure(i)) for i in direct}


def shrink_command(words: list[str]) -> list[str]:
    """A command line with ``--steps``, ``--budget`` and ``--trials`` capped.

    Example:
        >>> shrink_command(["expert", "train", "T", "--steps", "20000", "--trials=40"])
        ['expert', 'train', 'T', '--steps', '4096', '--trials=2']
    """
    caps = {"--steps": BUDGET, "--budget": BUDGET, "--trials": TRIALS}
    out = list(words)
    for i, word in enumerate(out):
        flag, eq, value = word.partition("=")
        if flag in caps and eq:
            out[i] = f"{flag}={min(int(value), caps[flag])}"
        elif word in caps and i + 1 < len(out):
            out[i + 1] = str(min(int(out[i + 1]), caps[word]))
    return out


def _bash_before(index: int) -> str | None:
    """The bash block right before Python block ``index``, under the same heading."""
    pos, head, _ = PYTHON[index]
    k = next(k for k, b in enumerate(BLOCKS) if b[0] == pos)
    if k and BLOCKS[k - 1][2] == "bash" and BLOCKS[k - 1][1] == head:
        return BLOCKS[k - 1][3]
    return None


def shrink(src: str, cap: int = BUDGET) -> str:
    """The block with every ``.learn(N`` and ``total_timesteps=N`` above ``cap`` at ``cap``.

    Example:
        >>> shrink("SAC('MlpPolicy', env).learn(10_000, callback=c)", 64)
        "SAC('MlpPolicy', env).learn(64, callback=c)"
    """

    def sub(m: re.Match) -> str:
        return m.group(1) + str(min(int(m.group(2).replace("_", "")), cap))

    return re.sub(r"(\.learn\(|total_timesteps=)([\d_]+)", sub, src)


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """Runs blocks on demand, each once, in one working folder; returns namespaces."""
    import rewarddesign as rd

    def capped(fn, **caps):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for key, cap in caps.items():
                bound.arguments[key] = min(bound.arguments[key], cap)
            return fn(*bound.args, **bound.kwargs)

        return wrapper

    cwd, namespaces = tmp_path_factory.mktemp("readme"), {}
    deps = _dependencies()
    mp = pytest.MonkeyPatch()
    mp.chdir(cwd)
    mp.setattr(rd, "run", capped(rd.run, budget=BUDGET))
    mp.setattr(rd, "tune", capped(rd.tune, budget=BUDGET, trials=TRIALS))

    def run(i: int) -> dict:
        if i not in namespaces:
            namespace: dict = {"__name__": f"readme_block_{i}"}
            for j in deps[i]:
                namespace.update(run(j))
            for words in _command_lines(_bash_before(i) or ""):
                assert main(shrink_command(words)) == 0, f"rewarddesign {' '.join(words)}"
            exec(compile(shrink(PYTHON[i][2]), _block_id(PYTHON[i]), "exec"), namespace)
            namespaces[i] = namespace
        return namespaces[i]

    yield run
    mp.undo()


def test_blocks_continue_only_from_earlier_blocks():
    deps = _dependencies()
    assert all(j < i for i, js in deps.items() for j in js)
    rd_users = [i for i in deps if "rd" in _uses(ast.parse(PYTHON[i][2]))]
    assert rd_users and all(0 in deps[i] for i in rd_users)  # `import rewarddesign as rd`
    # the learned-rewards block labels Pendulum's own segments (it once fitted a Pendulum
    # model to the gridworld pairs of the preference simulator's block)
    (learned,) = [i for i, b in enumerate(PYTHON) if b[1] == "Learned rewards"]
    assert deps[learned] == [0]


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(PYTHON)), ids=[_block_id(b) for b in PYTHON])
def test_python_block_runs(index, readme_run):
    readme_run(index)
