"""Every public rm_ function of include/resumate/*.h is wrapped: in the low-level module, and used by
the Pythonic package (or listed, with a reason, in resumate/_coverage.py)."""
import glob
import os
import re

import resumate as rm
from resumate import _coverage, capi

from conftest import repo_root

PKG = os.path.dirname(rm.__file__)
SRC_PKG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resumate")


def header_dir():
    return os.environ.get("RESUMATE_INCLUDE_DIR") or os.path.join(repo_root(), "include")


def declared():
    names = set()
    for h in glob.glob(os.path.join(header_dir(), "resumate", "*.h")):
        text = open(h, encoding="utf-8").read()
        names.update(re.findall(r"^\s*RM_EXTERN\b[^;]*?\b(rm_\w+)\s*\(", text, flags=re.M | re.S))
    return names


def used_by_package():
    used = set()
    for path in glob.glob(os.path.join(PKG, "*.py")):
        if os.path.basename(path) == "capi.py":
            continue
        used.update(re.findall(r"_c\.(rm_\w+)", open(path, encoding="utf-8").read()))
    # Record getters are called by name: _prefix + attribute.
    for cls in (rm.User, rm.Resume, rm.Application, rm.AIModel, rm.AIResult):
        used.update(cls._prefix + f for f in cls._fields)
    # C helpers of the SWIG interface that fill option structs.
    helpers = open(os.path.join(SRC_PKG, "capi.i"), encoding="utf-8").read()
    used.update(re.findall(r"\b(rm_\w+_init|rm_free)\(", helpers))
    return used


def test_headers_declare_functions():
    assert len(declared()) > 100


def test_every_function_is_in_the_low_level_module():
    missing = sorted(n for n in declared() if not hasattr(capi, n))
    assert missing == [], "declared in the headers but not wrapped by capi (library lacks them?): %s" % missing


def test_every_function_has_a_python_wrapper():
    unwrapped = sorted(declared() - used_by_package() - set(_coverage.C_ONLY) - set(_coverage.PENDING))
    assert unwrapped == [], "public rm_ functions with no Python wrapper: %s" % unwrapped


def test_c_only_list_names_real_functions():
    assert set(_coverage.C_ONLY) <= declared()
    assert set(_coverage.C_ONLY).isdisjoint(used_by_package())


def test_c_only_functions_are_callable_at_the_low_level():
    # Still reachable from Python for the adventurous: a vtable struct can be made and initialised.
    vt = capi.rm_storage_vtable()
    assert capi.rm_storage_vtable_init(vt, capi.RM_STORAGE_VTABLE_VERSION) == rm.RM_OK
    assert capi.rm_storage_vtable_init(vt, 999) == rm.RM_EVERSION
    assert capi.rm_storage_set_error(rm.RM_ESTORAGE, "backend says no") == rm.RM_ESTORAGE
    tv = capi.rm_transport_vtable()
    assert capi.rm_transport_vtable_init(tv, capi.RM_TRANSPORT_VTABLE_VERSION) == rm.RM_OK
    status, st = capi.rm_storage_new(vt, None)   # submit-less vtables are accepted for storage
    if status == rm.RM_OK:
        capi.rm_storage_free(st)
    status, tr = capi.rm_transport_new(tv, None)
    assert status == rm.RM_EMISUSE and tr is None   # a transport without submit is refused
