"""Which C functions the Python package deliberately leaves to C, and why.

tests/test_coverage.py parses include/resumate/*.h and fails when a public rm_ function is neither
called by the package (resumate/*.py, or the rmpy_* helpers in capi.i) nor listed here. Everything
listed here is still callable through the low-level module resumate.capi.
"""

C_ONLY = {
    "rm_storage_new": "custom storage backends are C vtables of function pointers (see examples/custom_storage.c)",
    "rm_storage_vtable_init": "only needed by C storage backends",
    "rm_storage_set_error": "only meaningful inside a C storage backend's vtable member",
    "rm_transport_new": "custom transports are C vtables of function pointers (see examples/custom_transport.c)",
    "rm_transport_vtable_init": "only needed by C transports",
    "rm_transport_submit": "asynchronous C callbacks on the transport thread; Python uses Transport.perform()",
    "rm_transport_cancel": "cancels a request started by rm_transport_submit(), which is C-only",
    "rm_transport_response_header": "reads a response valid only inside a C completion callback",
}

# Functions still waiting for a Pythonic wrapper (none: asynchronous generation is Ctx.generate_async,
# whose C callbacks buffer in capi.i and never call into Python from the library's threads).
PENDING = {}
