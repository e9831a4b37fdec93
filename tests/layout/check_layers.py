#!/usr/bin/env python3
"""The layering rules the build cannot see on its own.

The per-folder libraries already make an upward #include fail to compile
(each folder's include path names only itself and the layers below). This
check adds what include paths cannot express:
  - no module includes a header of a layer above it (belt and braces, and a
    clear message naming the file);
  - no include cycles between modules (a module is foo.c + foo.h; the
    cycle batch <-> replay of an earlier tree is the kind this catches);
  - node/ never includes git2.h (git belongs to sync/);
  - the fold (fold, ops_*, rules, person_key, projection, idnum, phone) never reads the clock:
    no clock.h, <time.h> or <sys/time.h> (its result is a function of the
    ops alone; the clock is node/clock.c's);
  - no source file in node/, sync/, tools/ over 800 lines, and no function
    over 80 (a reader's size: split along the natural seams). A function is
    found the kernel-style way this tree is written: a line "{" at column 0
    after a signature, ending at the next "}" at column 0.
Run by meson test (suite "layout"); prints each violation and exits 1.
"""
import os
import re
import sys

top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
LAYERS = ["schema", "node", "sync", "tools"]  # lowest first
MAX_LINES = 800
MAX_FUNCTION = 80
inc_re = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]', re.M)

files = {}  # "node/batch.c" -> text
for layer in LAYERS:
    for root, _, names in os.walk(os.path.join(top, layer)):
        for n in names:
            if n.endswith((".c", ".h")):
                p = os.path.join(root, n)
                files[os.path.relpath(p, top)] = open(p, encoding="utf-8").read()

header_home = {}  # "batch.h" -> "node"
for p in files:
    if p.endswith(".h"):
        header_home[os.path.basename(p)] = p.split(os.sep)[0]
header_home["schema_sql.h"] = "schema"  # generated at build time

problems = []
graph = {}  # module "node/batch" -> set of modules
for p, text in sorted(files.items()):
    layer = p.split(os.sep)[0]
    mod = os.path.splitext(p)[0]
    graph.setdefault(mod, set())
    folds = re.fullmatch(r"node/(fold|ops_\w+|projection|idnum|phone|rules|person_key|transfer_rows)\.[ch]", p.replace(os.sep, "/"))
    for kind, name in inc_re.findall(text):
        if folds and name in ("clock.h", "time.h", "sys/time.h"):
            problems.append(f"{p}: includes {name}; the fold never reads the clock")
        if kind == "<":
            if name.startswith("git2") and layer in ("schema", "node"):
                problems.append(f"{p}: includes <{name}>; git belongs to sync/")
            continue
        home = header_home.get(os.path.basename(name))
        if home is None:
            problems.append(f"{p}: includes \"{name}\", which no layer has")
            continue
        if LAYERS.index(home) > LAYERS.index(layer):
            problems.append(f"{p}: includes {home}/{name} from a layer above ({layer} < {home})")
        target = os.path.join(home, os.path.splitext(os.path.basename(name))[0])
        if target != mod:
            graph[mod].add(target)
    if layer != "schema" and p.endswith(".c"):
        lines = text.count("\n")
        if lines > MAX_LINES:
            problems.append(f"{p}: {lines} lines (over {MAX_LINES}: split it along its seams)")
        rows, start = text.split("\n"), None
        for i, row in enumerate(rows):
            if row == "{" and i and rows[i - 1].rstrip().endswith(")"):
                j = i - 1
                while j > 0 and not re.match(r"[A-Za-z]", rows[j]):
                    j -= 1
                start = (i, re.sub(r"\(.*", "", rows[j]).split()[-1].lstrip("*"))
            elif row == "}" and start:
                if i - start[0] > MAX_FUNCTION:
                    problems.append(f"{p}:{start[0]}: {start[1]}() is {i - start[0]} lines "
                                    f"(over {MAX_FUNCTION}: split it along its seams)")
                start = None

# Cycles among modules (Tarjan's strongly connected components).
index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in sorted(graph.get(v, ())):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            comps.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in sorted(graph):
    if v not in index:
        strong(v)
for c in comps:
    problems.append("include cycle: " + " <-> ".join(c))

for p in problems:
    print(p)
print(f"{len(files)} files, {sum(len(v) for v in graph.values())} module edges, {len(problems)} problems")
sys.exit(1 if problems else 0)
