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

# libsrtp 2.5.0, built from source with OpenSSL crypto (Debian's binary libsrtp2 uses NSS and is
# 2-4x slower on the AES-CM profiles: ../shared/notes/libsrtp-crypto.md). Debian's orig tarball of
# libsrtp2 2.5.0 is byte for byte the upstream release archive, so one sha256 pins both sources:
# the local copy that tools/setup.sh fetches with `apt-get source` (offline), else upstream.
LIBSRTP_VERSION = "2.5.0"
LIBSRTP_SHA256 = "8a43ef8e9ae2b665292591af62aa1a4ae41e468b6d98d8258f91478735da4e09"
LIBSRTP_TARBALL = "libsrtp2_2.5.0.orig.tar.gz"
LIBSRTP_CACHE_DIR = "/var/cache/dtls-srtp"
_LIBSRTP_URL = "https://github.com/cisco/libsrtp/archive/v2.5.0.tar.gz"

# What meson.build's configure step would find on a Linux/glibc machine, with OpenSSL crypto
# (GCM for the AEAD profiles). OPENSSL_KDF stays off: OpenSSL 3.0 has no kdf_srtp.
_LIBSRTP_CONFIG_H = """\
/* Written by @dtls_srtp//tools/bazel:deps.bzl (libsrtp_repository). */
#define PACKAGE_VERSION "{version}"
#define PACKAGE_STRING "libsrtp2 {version}"
#define {cpu} 1
{x86}
#define GCM 1
#define OPENSSL 1
#define USE_EXTERNAL_CRYPTO 1
#define HAVE_ARPA_INET_H 1
#define HAVE_INET_ATON 1
#define HAVE_INET_PTON 1
#define HAVE_INTTYPES_H 1
#define HAVE_NETINET_IN_H 1
#define HAVE_SIGACTION 1
#define HAVE_SOCKET 1
#define HAVE_STDINT_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_SYS_SOCKET_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_UNISTD_H 1
#define HAVE_USLEEP 1
#define HAVE_INT8_T 1
#define HAVE_UINT8_T 1
#define HAVE_INT16_T 1
#define HAVE_UINT16_T 1
#define HAVE_INT32_T 1
#define HAVE_UINT32_T 1
#define HAVE_UINT64_T 1
#define HAVE_UNSIGNED_LONG 1
#define HAVE_UNSIGNED_LONG_LONG 1
#define SIZEOF_UNSIGNED_LONG 8
#define SIZEOF_UNSIGNED_LONG_LONG 8
"""

def _libsrtp_impl(rctx):
    urls = []
    local = rctx.os.environ.get("DTLS_SRTP_LIBSRTP_TARBALL", LIBSRTP_CACHE_DIR + "/" + LIBSRTP_TARBALL)
    if rctx.path(local).exists:
        urls.append("file://" + str(rctx.path(local)))
    urls.append(_LIBSRTP_URL)
    rctx.download_and_extract(
        url = urls,
        sha256 = LIBSRTP_SHA256,
        stripPrefix = "libsrtp-" + LIBSRTP_VERSION,
    )
    # Bazel 4.2 has no rctx.os.arch.
    machine = rctx.execute(["uname", "-m"]).stdout.strip()
    x86 = machine in ["amd64", "x86_64", "x86", "i386", "i686"]
    rctx.file("config.h", _LIBSRTP_CONFIG_H.format(
        version = LIBSRTP_VERSION,
        cpu = "CPU_CISC" if x86 else "CPU_RISC",
        x86 = "#define HAVE_X86 1" if x86 else "",
    ), executable = False)
    # The public crypto headers beside srtp.h, as `make install` lays them out (srtp2/auth.h
    # includes "srtp.h" from its own folder): for srtp_replace_auth_type().
    for header in ["auth.h", "cipher.h", "crypto_types.h"]:
        rctx.symlink("crypto/include/" + header, "include/" + header)
    rctx.template("BUILD.bazel", rctx.attr.build_file, {
        "{repo}": rctx.name,
    }, executable = False)

libsrtp_repository = repository_rule(
    implementation = _libsrtp_impl,
    attrs = {"build_file": attr.label(default = Label("//tools/bazel:libsrtp.BUILD"))},
    environ = ["DTLS_SRTP_LIBSRTP_TARBALL"],
    doc = "libsrtp " + LIBSRTP_VERSION + " source (local Debian orig tarball, else upstream), built with OpenSSL crypto.",
)

def dtls_srtp_dependencies():
    """Everything a workspace using @dtls_srtp declares, after rules_cc and rules_java."""
    libsrtp_repository(name = "libsrtp")
