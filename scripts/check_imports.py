"""Fails when the modules of a crate of the workspace import each other in a cycle.

Modules import in one direction (docs/architecture.md); this check proves it for every crate
of the workspace: the extension (src/), the engine (engine/src/) and the HTTP server
(server/src/). Every module is a node, nested ones too: a file's module (`cluster/kmeans.rs`
is `cluster::kmeans`) and each inline `mod name { ... }` in it (`cluster::kmeans::tests`).
A module depends on the module each of its paths names: `crate::a::b::item`, `super::item`,
`super::super::a::item`, `self::a::item`, a child module's `a::item`, and every path of a
`use` tree (`use crate::a::{b, c::d}`), resolved to the longest prefix that is a module.
Declaring a child (`mod a;`) is containment, not a dependency. Comments, strings and char
literals are left out. The graph of each crate must be acyclic.

`--self-test` runs the check on small planted crates first: it must find the cycles planted
in them (through `crate::`, `super::`, a `use` tree, a nested module) and pass the acyclic one.
"""

import os
import re
import sys
import tempfile

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CRATES = ["src", "engine/src", "server/src"]
ROOT = "crate"
CHAR = re.compile(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|.)|[^\\'\n])'")


def strip(text):
    """The code without comments, string literals and char literals (lifetimes kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
        elif (m := re.compile(r'b?r(#*)"').match(text, i)) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find('"' + m.group(1), m.end())
            i = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and (m := CHAR.match(text, i)):
            i = m.end()
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def closing_brace(code, start):
    """Index of the `}` closing the `{` at `start`."""
    depth = 0
    for i in range(start, len(code)):
        if code[i] == "{":
            depth += 1
        elif code[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return len(code)


def use_paths(tree):
    """The paths of a `use` tree: `a::{b, c::{d, e as f}, self}` gives a::b, a::c::d, a::c::e, a."""
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [re.sub(r"as\w+$", "", tree.split(" as ")[0])] if tree else []
    prefix, inner = tree[:brace].rstrip(":"), tree[brace + 1 : tree.rindex("}")]
    parts, depth, last = [], 0, 0
    for i, c in enumerate(inner + ","):
        if c in "{}":
            depth += 1 if c == "{" else -1
        elif c == "," and depth == 0:
            parts.append(inner[last:i])
            last = i + 1
    paths = []
    for part in filter(None, parts):
        for p in use_paths(part):
            paths.append(prefix if p == "self" else (prefix + "::" + p if prefix else p))
    return paths


def join(module, name):
    return name if module == ROOT else module + "::" + name


def parent(module):
    return ROOT if "::" not in module else module.rsplit("::", 1)[0]


class Crate:
    """The modules of one crate (from its root file) and the paths each one names."""

    def __init__(self, root_file):
        self.modules = {}  # module -> [(path text, module it appears in)]
        self.children = {}  # module -> set of child module names
        self.read(root_file, ROOT, True)

    def read(self, path, module, owns_dir):
        code = strip(open(path, encoding="utf-8").read())
        base = os.path.dirname(path) if owns_dir else os.path.splitext(path)[0]
        # Inline modules: (start, end, name), to know which module each path is in.
        blocks = []
        for m in re.finditer(r"\bmod\s+(\w+)\s*([;{])", code):
            if m.group(2) == "{":
                blocks.append((m.end() - 1, closing_brace(code, m.end() - 1), m.group(1)))

        def module_at(pos):
            inner = module
            for start, end, name in blocks:
                if start < pos < end:
                    inner = join(inner, name)
            return inner

        for m in re.finditer(r"\bmod\s+(\w+)\s*([;{])", code):
            owner, name = module_at(m.start()), m.group(1)
            child = join(owner, name)
            self.children.setdefault(owner, set()).add(name)
            self.modules.setdefault(child, [])
            if m.group(2) == ";":
                for candidate in (os.path.join(base, name + ".rs"), os.path.join(base, name, "mod.rs")):
                    if os.path.exists(candidate):
                        self.read(candidate, child, candidate.endswith("mod.rs"))
                        break
        self.modules.setdefault(module, [])
        uses = list(re.finditer(r"\buse\s+([^;]+);", code))
        for m in uses:
            for p in use_paths(m.group(1)):
                self.modules[module_at(m.start())].append((p, module_at(m.start())))
        masked = code
        for m in uses:
            masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end() :]
        for m in re.finditer(r"(?<![\w$:])(\w+(?:\s*::\s*\w+)+)", masked):
            self.modules[module_at(m.start())].append((re.sub(r"\s+", "", m.group(1)), module_at(m.start())))

    def resolve(self, path, module):
        """The module a path names (the longest module prefix of it), or None (another crate)."""
        segments = path.split("::")
        head = segments[0]
        if head == "crate":
            at, rest = ROOT, segments[1:]
        elif head in ("super", "self"):
            at = module
            while segments and segments[0] in ("super", "self"):
                if segments.pop(0) == "super":
                    at = parent(at)
            rest = segments
        elif head in self.children.get(module, ()):
            at, rest = module, segments
        else:
            return None
        for name in rest:
            if name not in self.children.get(at, ()):
                break
            at = join(at, name)
        return at

    def graph(self):
        graph = {}
        for module, paths in self.modules.items():
            deps = {self.resolve(p, m) for p, m in paths}
            graph[module] = {d for d in deps if d is not None and d != module}
        return graph


def find_cycle(graph):
    """One cycle of the graph as a list of nodes (first == last), or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return path[path.index(dep) :] + [dep]
            if dep not in state:
                found = visit(dep, path + [dep])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def check(crate_dir):
    """(number of modules, a cycle or None) of each crate rooted in crate_dir (lib.rs, main.rs)."""
    results = []
    for root in ("lib.rs", "main.rs"):
        path = os.path.join(crate_dir, root)
        if os.path.exists(path):
            graph = Crate(path).graph()
            results.append((root, len(graph), find_cycle(graph)))
    return results


PLANTED = {
    "crate:: and super:: between files": {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "use crate::b::Thing;\n",
        "b/mod.rs": "mod c;\npub use c::Thing;\n",
        "b/c.rs": "pub struct Thing;\nfn f() { super::super::a::g() }\n",
    },
    "a parent and its child through a use tree": {
        "lib.rs": "mod p;\n",
        "p/mod.rs": "mod q;\nuse self::q::{Inner, other::{X}};\npub struct Outer;\n",
        "p/q.rs": "pub mod other { pub struct X; }\nuse super::Outer; // crate::nothing here\n",
    },
    "a nested inline module and a child module": {
        "lib.rs": "mod m;\n",
        "m.rs": 'mod n;\nmod inner {\n    fn f() { super::n::g(); let s = "crate::x"; }\n}\n',
        "m/n.rs": "fn g() { crate::m::inner::f() }\n",
    },
}
ACYCLIC = {
    "lib.rs": "mod a;\nmod b;\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::{a, b};\n}\n",
    "a.rs": "use crate::b::{self, Thing}; // use crate::a;\nfn f() { let c = 'a'; let s = r#\"super::x\"#; }\n",
    "b.rs": "pub struct Thing<'a>(&'a str);\nmod tests { use super::Thing; use crate::a; }\n",
}


def self_test():
    for name, files in list(PLANTED.items()) + [("acyclic", ACYCLIC)]:
        with tempfile.TemporaryDirectory() as tmp:
            for path, text in files.items():
                os.makedirs(os.path.dirname(os.path.join(tmp, path)), exist_ok=True)
                with open(os.path.join(tmp, path), "w", encoding="utf-8") as f:
                    f.write(text)
            [(_, _, cycle)] = check(tmp)
            if (cycle is None) != (name == "acyclic"):
                sys.exit(f"check_imports self-test failed on the crate '{name}': found {cycle}")
    print(f"check_imports self-test: the {len(PLANTED)} planted cycles found, the acyclic crate passes")


def main():
    if "--self-test" in sys.argv[1:]:
        self_test()
    failed = False
    for crate_dir in CRATES:
        for root, count, cycle in check(os.path.join(REPO, crate_dir)):
            if cycle:
                print(f"import cycle in {crate_dir} ({root}): " + " -> ".join(cycle), file=sys.stderr)
                failed = True
            else:
                print(f"{crate_dir} ({root}): {count} modules, no import cycle")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
