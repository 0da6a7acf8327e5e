"""shardis' build: pure Python, or the same source with its hot modules compiled by mypyc.

The project metadata is pyproject.toml's; this file only adds the compiled modules.
``pip wheel``/``pip install`` compile ``COMPILED`` with mypyc (C extensions built from the
type-annotated source, installed next to the .py files, which Python then ignores)
when a C compiler is found and mypyc imports, unless SHARDIS_PURE=1; otherwise the
package installs as pure Python and works the same, slower. A module is listed only
once it compiles and its tests pass compiled (scripts/build-check builds both ways).
Compiled modules cannot be monkeypatched, and their annotations are checked at run time.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig

from setuptools import setup

COMPILED = [
    # the router's hot path
    "shardis/resp.py",          # RESP parsing and reply encoding
    "shardis/router/app.py",    # the router's dispatch and batching (router/app.py, through the link)
    "shardis/glob.py",          # Redis' glob patterns (KEYS, SCAN MATCH, PSUBSCRIBE ...)
    "shardis/args.py",          # argument parsing shared by both sides
    "shardis/slots.py",         # key -> hash slot
    # the shard's batch loop, storage and the string family
    "shardis/shardd/daemon.py",
    "shardis/shardd/storage.py",
    "shardis/shardd/strings.py",
    "shardis/shardd/disk/keys.py",
    "shardis/shardd/disk/coll.py",
    "shardis/shardd/disk/sysdb.py",
    "shardis/shardd/access.py",     # the access data's fold, once per batch over its keys
    "shardis/wire.py",
    # DUMP / RESTORE's RDB codecs (LZF, listpacks): byte loops, 4x faster compiled
    "shardis/rdb.py",
]


def _note(msg: str) -> None:
    print(f"shardis setup.py: {msg}", file=sys.stderr)


def _have_compiler() -> bool:
    """Whether the C compiler Python's extensions are built with (CC, else Python's own) is there."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    words = shlex.split(cc)
    return bool(words) and shutil.which(words[0]) is not None


def ext_modules() -> list:
    if os.environ.get("SHARDIS_PURE") == "1":
        _note("SHARDIS_PURE=1: pure Python")
        return []
    if "editable_wheel" in sys.argv:
        # An editable install (pip install -e, the tests' install) runs the checkout's
        # .py files: an extension built in place would keep running the old code after
        # an edit. scripts/build-check tests the compiled build.
        _note("editable install: pure Python")
        return []
    if not {"bdist_wheel", "build_ext", "build", "install"} & set(sys.argv):
        return []  # metadata only (egg_info, dist_info): mypyc's code generation is for builds
    if not _have_compiler():
        _note("no C compiler found: pure Python")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _note("mypyc (mypy) is not installed: pure Python")
        return []
    _note("compiling with mypyc: " + " ".join(COMPILED))
    # (mypy's options are pyproject.toml's; an error in a module that is only imported
    # does not stop the build, nor an ignore comment another version of a library's types
    # does not need: tests/test_types.py and the CI's mypy run report those.)
    # group_name: the modules share one support library, shardis__mypyc, not a hash's name
    try:
        return mypycify(["--follow-imports=silent", "--no-warn-unused-ignores", *COMPILED], opt_level="3",
                        group_name="shardis")
    except (Exception, SystemExit) as e:  # (mypyc exits on a type error it finds)
        _note(f"mypyc could not compile ({e!r}; its messages are above): pure Python")
        return []


setup(ext_modules=ext_modules())
