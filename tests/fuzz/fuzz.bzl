"""One fuzz target = a library with LLVMFuzzerTestOneInput, a libFuzzer binary under
--config=fuzz (a corpus replayer otherwise), and a test that replays the seed corpus."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")

def fuzz_target(name, srcs, deps, corpus):
    cc_library(
        name = name + "_lib",
        testonly = True,
        srcs = srcs,
        deps = deps,
        alwayslink = True,
    )
    cc_binary(
        name = name,
        testonly = True,
        linkopts = select({
            ":libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = [":" + name + "_lib"] + select({
            ":libfuzzer": [],
            "//conditions:default": [":replay_main"],
        }),
    )

    # Every seed (and every crash turned into a seed) runs as a regression test.
    cc_test(
        name = name + "_corpus_test",
        args = ["$(locations %s)" % corpus],
        data = [corpus],
        deps = [
            ":" + name + "_lib",
            ":replay_main",
        ],
    )
