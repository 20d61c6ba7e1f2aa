// `dtls-srtp bench`: runs the loopback benchmark and reports it as a table, as
// JSON and as an SVG plot.
#ifndef DTLS_SRTP_TOOLS_BENCH_BENCH_COMMAND_H_
#define DTLS_SRTP_TOOLS_BENCH_BENCH_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "tools/bench/cores_bench.h"
#include "tools/bench/cross_thread_bench.h"
#include "tools/bench/crypto_floor_bench.h"
#include "tools/bench/fanout_bench.h"
#include "tools/bench/loopback_bench.h"
#include "tools/bench/lossy_bench.h"

namespace dtls::bench {

// Exit codes: 0 done, 1 the benchmark failed, 2 a usage error.
int run_bench_command(const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err);

// `lossy` (the lossy phase), `cross_thread`, `fanout`, `cores` and `crypto`
// (as "crypto_floor"), when they ran, go in under those keys.
std::string to_json(const BenchOptions& o, const BenchResult& r,
                    const LossyResult* lossy = nullptr,
                    const CrossThreadResult* cross_thread = nullptr,
                    const FanOutBenchResult* fanout = nullptr,
                    const CoresResult* cores = nullptr,
                    const CryptoFloorResult* crypto = nullptr);
std::string to_cross_thread_table(const CrossThreadResult& r);
std::string to_fanout_table(const FanOutBenchResult& r);
std::string to_lossy_table(const LossyResult& r);
std::string to_svg(const BenchResult& r);
std::string to_table(const BenchResult& r);

extern const char kBenchUsage[];

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_BENCH_COMMAND_H_
