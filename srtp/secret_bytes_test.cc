#include "srtp/secret_bytes.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <new>

// The test replaces the global operator new and delete (a replacement the
// language provides for) so that it can look at a watched block's bytes
// right before the block goes back to malloc, as a debugging allocator does.
namespace {

const void* g_watched = nullptr;
size_t g_watched_size = 0;
bool g_caught = false;
unsigned char g_seen[256];

void look(void* p) {
  if (p == nullptr || p != g_watched) return;
  std::memcpy(g_seen, p, g_watched_size);
  g_caught = true;
  g_watched = nullptr;
}

}  // namespace

void* operator new(size_t n) {
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  look(p);
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  look(p);
  std::free(p);
}

namespace dtls::srtp {
namespace {

void watch(const void* block, size_t size) {
  ASSERT_LE(size, sizeof(g_seen));
  g_watched = block;
  g_watched_size = size;
  g_caught = false;
}

bool seen_all(unsigned char value) {
  for (size_t i = 0; i < g_watched_size; ++i)
    if (g_seen[i] != value) return false;
  return true;
}

// What the watch sees when nothing wipes: the bytes as they were.
TEST(SecretBytes, APlainVectorLeavesItsBytesInFreedMemory) {
  {
    std::vector<std::uint8_t> plain(32, 0xA5);
    watch(plain.data(), plain.capacity());
  }
  ASSERT_TRUE(g_caught);
  EXPECT_TRUE(seen_all(0xA5));
}

TEST(SecretBytes, DroppedBytesAreWiped) {
  {
    SecretBytes key(32, 0xA5);
    watch(key.data(), key.capacity());
  }
  ASSERT_TRUE(g_caught);
  EXPECT_TRUE(seen_all(0));
}

// A reallocation hands the old buffer back: it is wiped too, so growing a key
// leaves no copy behind.
TEST(SecretBytes, GrowingLeavesNoCopyBehind) {
  SecretBytes key(16, 0x5A);
  watch(key.data(), key.capacity());
  const void* old = key.data();
  key.resize(key.capacity() + 1, 0x5A);
  ASSERT_NE(key.data(), old);
  ASSERT_TRUE(g_caught);
  EXPECT_TRUE(seen_all(0));
  EXPECT_EQ(key.front(), 0x5A);
}

}  // namespace
}  // namespace dtls::srtp
