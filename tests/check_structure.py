#!/usr/bin/env python3
"""Structure limits of src/ and include/ (docs/architecture.md):

  * no file over 500 lines;
  * no function (free function, method, constructor, lambda-holding function alike) over 60
    lines, measured by libclang as the definition's extent: from the first line of its signature
    to its closing brace;
  * no include cycle among the project's own headers.

Usage: check_structure.py [ROOT]. Exits 1 listing every violation. Needs python3-clang-14.
"""
import multiprocessing
import os
import re
import sys
from collections import defaultdict

MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
trees = [os.path.join(root, "src"), os.path.join(root, "include")]


def sources(exts):
    for tree in trees:
        for dirpath, _, files in os.walk(tree):
            for f in sorted(files):
                if f.endswith(exts):
                    yield os.path.join(dirpath, f)


problems = []

# ---- file length
for path in sources((".cpp", ".h")):
    with open(path, encoding="utf-8") as fh:
        n = sum(1 for _ in fh)
    if n > MAX_FILE_LINES:
        problems.append(f"{os.path.relpath(path, root)}: {n} lines (limit {MAX_FILE_LINES})")

# ---- include cycles among the project's headers and sources
include_re = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
graph = defaultdict(set)
for path in sources((".cpp", ".h")):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    for inc in include_re.findall(text):
        for base in (os.path.join(root, "include"), os.path.dirname(path)):
            target = os.path.normpath(os.path.join(base, inc))
            if os.path.exists(target):
                graph[path].add(target)
                break
WHITE, GREY, BLACK = 0, 1, 2
colour = defaultdict(int)


def visit(node, stack):
    colour[node] = GREY
    stack.append(node)
    for nxt in sorted(graph[node]):
        if colour[nxt] == GREY:
            cycle = stack[stack.index(nxt):] + [nxt]
            problems.append("include cycle: " + " -> ".join(os.path.relpath(c, root) for c in cycle))
        elif colour[nxt] == WHITE:
            visit(nxt, stack)
    stack.pop()
    colour[node] = BLACK


sys.setrecursionlimit(10000)
for node in sorted(graph):
    if colour[node] == WHITE:
        visit(node, [])

# ---- function length (libclang)
try:
    import clang.cindex as ci
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    import clang.cindex as ci

for lib in ("/usr/lib/llvm-14/lib/libclang-14.so.1", "/usr/lib/llvm-14/lib/libclang.so.1"):
    if os.path.exists(lib):
        ci.Config.set_library_file(lib)
        break

FUNCTION_KINDS = {
    ci.CursorKind.FUNCTION_DECL,
    ci.CursorKind.CXX_METHOD,
    ci.CursorKind.CONSTRUCTOR,
    ci.CursorKind.DESTRUCTOR,
    ci.CursorKind.FUNCTION_TEMPLATE,
    ci.CursorKind.CONVERSION_FUNCTION,
}
args = ["-x", "c++", "-std=c++20", '-DTURNPIKE_VERSION="0"', "-I" + os.path.join(root, "include"),
        "-I" + os.path.join(root, "src"), "-I/usr/include/x86_64-linux-gnu"]
def walk(cursor, seen):
    for c in cursor.get_children():
        loc = c.location.file
        if loc is None or not os.path.abspath(loc.name).startswith(tuple(trees)):
            continue
        if c.kind in FUNCTION_KINDS and c.is_definition():
            start, end = c.extent.start, c.extent.end
            key = (os.path.abspath(start.file.name), start.line)
            length = end.line - start.line + 1
            seen[key] = (c.spelling, length)
        walk(c, seen)


def measure(path):
    """Function definitions seen from one translation unit, and its first parse error."""
    tu = ci.Index.create().parse(path, args=args)
    errors = [d for d in tu.diagnostics if d.severity >= ci.Diagnostic.Error]
    seen = {}
    walk(tu.cursor, seen)
    return seen, (f"{os.path.relpath(path, root)}: {errors[0]}" if errors else None)


seen = {}
parse_errors = []
with multiprocessing.Pool(max(1, min(2, os.cpu_count() or 1))) as pool:
    for one, error in pool.imap_unordered(measure, list(sources((".cpp",)))):
        seen.update(one)
        if error:
            parse_errors.append(error)

longest = sorted(((v[1], k, v[0]) for k, v in seen.items()), reverse=True)
for length, (path, line), name in longest:
    if length > MAX_FUNCTION_LINES:
        problems.append(f"{os.path.relpath(path, root)}:{line}: {name}() is {length} lines "
                        f"(limit {MAX_FUNCTION_LINES})")
for e in parse_errors:
    problems.append("libclang could not parse " + e)

if longest:
    length, (path, line), name = longest[0]
    print(f"structure: {len(seen)} function definitions; longest {name}() "
          f"{os.path.relpath(path, root)}:{line} at {length} lines")
if problems:
    print("structure limits violated:")
    print("\n".join("  " + p for p in problems))
    sys.exit(1)
print("structure: ok (files <= %d lines, functions <= %d lines, no include cycle)"
      % (MAX_FILE_LINES, MAX_FUNCTION_LINES))
