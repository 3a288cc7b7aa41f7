// Strong id types: an agent index can never be passed where a contact index is expected.
#pragma once

#include <cstddef>
#include <functional>

namespace sb {

template <typename T, typename Tag>
class NamedType {
 public:
  using value_type = T;
  constexpr NamedType() = default;
  constexpr explicit NamedType(T v) : v_(v) {}
  constexpr T value() const { return v_; }
  constexpr auto operator<=>(const NamedType&) const = default;

 private:
  T v_{};
};

}  // namespace sb

template <typename T, typename Tag>
struct std::hash<sb::NamedType<T, Tag>> {
  size_t operator()(const sb::NamedType<T, Tag>& v) const noexcept {
    return std::hash<T>{}(v.value());
  }
};
