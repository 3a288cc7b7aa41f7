#include "router/kafka/epoch.h"

namespace sb::kafka {

Header EpochHeader(uint64_t epoch) {
  std::string v(8, '\0');
  for (int i = 7; i >= 0; --i, epoch >>= 8) v[i] = static_cast<char>(epoch & 0xff);
  return {kEpochHeader, v};
}

std::optional<uint64_t> RecordEpoch(const Record& r) {
  const std::string* h = r.FindHeader(kEpochHeader);
  if (h == nullptr || h->size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (unsigned char c : *h) v = (v << 8) | c;
  return v;
}

}  // namespace sb::kafka
