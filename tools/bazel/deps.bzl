"""Repository rules that let this workspace build offline on Debian 12's Bazel 4.2.3.

Debian ships rules_cc 0.0.4 and rules_java under /usr/share/bazel/rules. rules_cc 0.0.4 loads
`use_cpp_toolchain` from @bazel_tools, which Bazel 4.2.3 lacks, so the copy is patched on the
way in. Where the Debian copy is absent (another distribution, a newer Bazel with internet), the
same pinned upstream release is downloaded and patched the same way.
"""

_DEBIAN_RULES_CC = "/usr/share/bazel/rules/cc"
_DEBIAN_RULES_JAVA = "/usr/share/bazel/rules/java"

_RULES_CC_URL = "https://github.com/bazelbuild/rules_cc/releases/download/0.0.4/rules_cc-0.0.4.tar.gz"
_RULES_CC_SHA256 = "af6cc82d87db94585bceeda2561cb8a9d55ad435318ccb4ddfee18a43580fb5d"

_USE_CPP_TOOLCHAIN_FILES = [
    "cc/private/rules_impl/compiler_flag.bzl",
    "cc/private/rules_impl/cc_flags_supplier.bzl",
]

def _drop_use_cpp_toolchain(rctx):
    for path in _USE_CPP_TOOLCHAIN_FILES:
        text = rctx.read(path)
        text = text.replace(
            "\"find_cpp_toolchain\", \"use_cpp_toolchain\")",
            "\"find_cpp_toolchain\")",
        )
        text = text.replace(
            "use_cpp_toolchain()",
            "[\"@bazel_tools//tools/cpp:toolchain_type\"]",
        )
        rctx.file(path, text, executable = False)

def _rules_cc_impl(rctx):
    src = rctx.path(_DEBIAN_RULES_CC)
    if src.exists:
        # Copy (not symlink) so the patched files never touch the system copy.
        result = rctx.execute(["cp", "-R", str(src) + "/.", "."])
        if result.return_code != 0:
            fail("copying %s failed: %s" % (_DEBIAN_RULES_CC, result.stderr))
    else:
        rctx.download_and_extract(
            url = _RULES_CC_URL,
            sha256 = _RULES_CC_SHA256,
            stripPrefix = "rules_cc-0.0.4",
        )
    _drop_use_cpp_toolchain(rctx)

rules_cc_repository = repository_rule(
    implementation = _rules_cc_impl,
    doc = "rules_cc 0.0.4 from Debian's bazel-rules-cc, else the pinned release; patched for Bazel 4.2.",
)

_RULES_JAVA_URL = "https://github.com/bazelbuild/rules_java/releases/download/4.0.0/rules_java-4.0.0.tar.gz"
_RULES_JAVA_SHA256 = "34b41ec683e67253043ab1a3d1e8b7c61e4e8edefbcad485381328c934d072fe"

def _rules_java_impl(rctx):
    src = rctx.path(_DEBIAN_RULES_JAVA)
    if src.exists:
        for entry in src.readdir():
            rctx.symlink(entry, entry.basename)
    else:
        rctx.download_and_extract(url = _RULES_JAVA_URL, sha256 = _RULES_JAVA_SHA256)

rules_java_repository = repository_rule(
    implementation = _rules_java_impl,
    doc = "rules_java 4.0.0 from Debian's bazel-rules-java, else the pinned release (JDK toolchain resolution needs it).",
)
