#include "transport/io/port_group.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cerrno>
#include <mutex>
#include <type_traits>

#include "transport/ice/ice_lite.h"

namespace dtls {

// Handed over as bytes through a loop's queue and read back on its thread.
static_assert(std::is_trivially_copyable_v<PeerAddress>);

Result<std::shared_ptr<PortGroup>> PortGroup::create() {
  Secret s;
  if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1) {
    return make_error("ERR_RANDOM",
                      "no random cookie secret for the port group");
  }
  std::shared_ptr<PortGroup> g(new PortGroup(s));
  OPENSSL_cleanse(s.data(), s.size());
  return g;
}

Result<std::shared_ptr<PortGroup>> PortGroup::create(
    std::span<const std::uint8_t> cookie_secret) {
  Secret s;
  if (cookie_secret.size() != s.size()) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "a port group's cookie secret is 32 bytes, got " +
                          std::to_string(cookie_secret.size()));
  }
  std::copy(cookie_secret.begin(), cookie_secret.end(), s.begin());
  std::shared_ptr<PortGroup> g(new PortGroup(s));
  OPENSSL_cleanse(s.data(), s.size());
  return g;
}

bool PortGroup::claim(std::string_view ufrag, std::string_view pwd,
                      Member member) {
  std::unique_lock lock(mu_);
  return owners_.emplace(std::string(ufrag), Owner{std::string(pwd), member})
      .second;
}

void PortGroup::release(std::string_view ufrag, Member member) {
  std::unique_lock lock(mu_);
  auto it = owners_.find(std::string(ufrag));
  if (it != owners_.end() && it->second.member == member) owners_.erase(it);
}

std::optional<PortDirectory::Member> PortGroup::owner(
    const stun::Message& request) const {
  auto ufrag = local_ufrag(request);
  if (!ufrag) return std::nullopt;
  std::shared_lock lock(mu_);
  // Heterogeneous lookup needs C++20's transparent unordered containers;
  // a check for another member's session is rare enough for one string.
  auto it = owners_.find(std::string(*ufrag));
  if (it == owners_.end() ||
      !request.check_integrity(std::string_view(it->second.pwd))) {
    return std::nullopt;
  }
  return it->second.member;
}

std::optional<PortDirectory::Member> PortGroup::holder(
    std::string_view ufrag) const {
  std::shared_lock lock(mu_);
  auto it = owners_.find(std::string(ufrag));
  if (it == owners_.end()) return std::nullopt;
  return it->second.member;
}

void PortGroup::join(Member member, std::shared_ptr<LoopDispatcher> dispatcher,
                     std::weak_ptr<QueuedMediaTarget> inbox) {
  std::unique_lock lock(mu_);
  members_[member] = Slot{std::move(dispatcher), std::move(inbox)};
  generation_.fetch_add(1, std::memory_order_release);
}

void PortGroup::leave(Member member) {
  std::unique_lock lock(mu_);
  members_.erase(member);
  generation_.fetch_add(1, std::memory_order_release);
  std::erase_if(owners_,
                [&](const auto& o) { return o.second.member == member; });
}

std::optional<PortGroup::Route> PortGroup::route(Member member) const {
  std::shared_lock lock(mu_);
  auto it = members_.find(member);
  if (it == members_.end()) return std::nullopt;
  auto inbox = it->second.inbox.lock();
  if (!inbox) return std::nullopt;
  return Route{it->second.dispatcher, std::move(inbox)};
}

int PortGroup::hand_over(Member to, const PeerAddress& from,
                         std::span<const std::uint8_t> data) const {
  const auto r = route(to);
  return r ? hand_over(*r, from, data) : -ESHUTDOWN;
}

int PortGroup::hand_over(const Route& route, const PeerAddress& from,
                         std::span<const std::uint8_t> data) {
  if (data.size() > kMaxHandedOver) return -EMSGSIZE;
  const auto* head = reinterpret_cast<const std::uint8_t*>(&from);
  switch (route.dispatcher->post_media(route.inbox, kHandedOver,
                                       {head, sizeof(PeerAddress)}, data,
                                       LoopDispatcher::Share::kHandOver)) {
    case LoopDispatcher::Queued::kQueued:
      return 0;
    case LoopDispatcher::Queued::kFull:
      return -ENOBUFS;
    case LoopDispatcher::Queued::kTooLarge:
      return -EMSGSIZE;
    case LoopDispatcher::Queued::kStopped:
      break;
  }
  return -ESHUTDOWN;
}

size_t PortGroup::members() const {
  std::shared_lock lock(mu_);
  return members_.size();
}

size_t PortGroup::sessions() const {
  std::shared_lock lock(mu_);
  return owners_.size();
}

}  // namespace dtls
