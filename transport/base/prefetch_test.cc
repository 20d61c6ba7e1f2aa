#include "transport/base/prefetch.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace dtls {
namespace {

const void* at(std::uintptr_t address) {
  return reinterpret_cast<const void*>(address);
}

// Ranges become the lines they touch, each once, in order.
TEST(FetchList, KeepsTheLinesOfEachRange) {
  FetchList list;
  EXPECT_EQ(list.size(), 0u);
  list.add(at(0x1000), 64);  // one whole line
  list.add(at(0x2030), 40);  // crosses into the next
  list.add(at(0x3001), 1);   // inside one
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list.lines()[0], at(0x1000));
  EXPECT_EQ(list.lines()[1], at(0x2000));
  EXPECT_EQ(list.lines()[2], at(0x2040));
  EXPECT_EQ(list.lines()[3], at(0x3000));
  list.prefetch();  // a hint at addresses never read
  list.resize(1);
  list.add(at(0x4000), 128);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list.lines()[1], at(0x4000));
  EXPECT_EQ(list.lines()[2], at(0x4040));
}

// What does not fit is left out; the list never grows past its room.
TEST(FetchList, StopsAtItsRoom) {
  FetchList list;
  list.add(at(0x10000), (FetchList::kMaxLines + 5) * kCacheLine);
  ASSERT_EQ(list.size(), FetchList::kMaxLines);
  EXPECT_EQ(list.lines().back(),
            at(0x10000 + (FetchList::kMaxLines - 1) * kCacheLine));
  list.add(at(0x90000), 1);
  EXPECT_EQ(list.size(), FetchList::kMaxLines);
}

}  // namespace
}  // namespace dtls
