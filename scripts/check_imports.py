"""Fails when the adapter's modules (src/*.rs) import each other in a cycle: each module
names the modules it uses as crate::<module>; the graph of those names must be acyclic."""
import glob
import os
import re
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
graph = {}
for path in glob.glob(os.path.join(root, "*.rs")):
    name = os.path.basename(path)[:-3]
    graph[name] = set(re.findall(r"crate::(\w+)", open(path, encoding="utf-8").read())) - {name}
state = {}


def visit(node, path):
    state[node] = "open"
    for dep in sorted(graph[node] & graph.keys()):
        if state.get(dep) == "open":
            sys.exit("import cycle among src/ modules: " + " -> ".join(path + [dep]))
        if dep not in state:
            visit(dep, path + [dep])
    state[node] = "done"


for module in sorted(graph):
    if module not in state:
        visit(module, [module])
print(f"src/: {len(graph)} modules, no import cycle")
