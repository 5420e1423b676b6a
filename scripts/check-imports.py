#!/usr/bin/env python3
"""Every module a target imports must be declared in its Package.swift dependencies.

SwiftPM's --explicit-target-dependency-import-check lets an import through when the module is reachable
transitively (ProtMount imported ProtCrypto through ProtStore, undeclared), so Package.swift stopped being
the truth. This reads `swift package dump-package` and each target's sources, and fails on any import of a
package target or product the target does not name. Toolchain modules (Foundation, Glibc, ...) are free.
"""
import json
import os
import re
import subprocess
import sys

SYSTEM = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Glibc", "Dispatch", "Synchronization",
          "Testing", "XCTest", "Darwin", "os"}
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True,
                                    capture_output=True, text=True).stdout)
targets = {t["name"]: t for t in package["targets"]}
# Top-level imports only (column 0, as the code is formatted): Python inside test strings is not Swift.
imports = re.compile(r"^(?:@testable |@_implementationOnly |public |internal )?import "
                     r"(?:(?:struct|class|enum|protocol|typealias|func|var|let) )?([A-Za-z_]\w*)", re.M)
problems = []
for name, t in targets.items():
    if t["type"] == "system":
        continue
    default = {"test": "Tests", "executable": "Sources"}.get(t["type"], "Sources")
    path = os.path.join(root, t.get("path") or os.path.join(default, name))
    declared = set()
    for dep in t["dependencies"]:
        kind, value = next(iter(dep.items()))
        declared.add(value[0])
    for top, _, files in os.walk(path):
        for f in files:
            if not f.endswith(".swift"):
                continue
            text = open(os.path.join(top, f), encoding="utf-8").read()
            for module in sorted(set(imports.findall(text))):
                if module in SYSTEM or module in declared or module == name.replace("-", "_"):
                    continue
                problems.append(f"{os.path.relpath(os.path.join(top, f), root)}: imports {module}, "
                                f"which target {name} does not declare in Package.swift")
for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
