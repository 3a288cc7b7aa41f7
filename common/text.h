// Text that came from outside (ids, names, phone numbers, dates): how every module quotes it in an
// error message and which formats every module accepts, so one field has one rule everywhere.
#pragma once

#include <string>
#include <string_view>

namespace sb {

// Contact attribute keys starting with this are the router's own (the shards' forwards between
// each other, router/engine/types.h): refused from outside by every entry point.
inline constexpr char kReservedAttributePrefix[] = "sb.";

// `s` as a JSON string literal (quotes, backslashes and control characters escaped) appended to
// `out`.
void AppendJsonString(std::string_view s, std::string* out);
// `s` cut to at most `max` bytes at a UTF-8 character boundary, "..." appended when cut.
std::string Shorten(std::string_view s, size_t max);
// An input value quoted for an error message: escaped as JSON and cut at 64 bytes, so a message
// is safe in logs and terminals.
std::string Quote(std::string_view value);

// A dialable phone number: '+', then 6 to 20 digits (E.164 and internal extensions behind a
// country code); no spaces or dashes.
bool ValidPhone(std::string_view phone);
// A calendar date YYYY-MM-DD (leap years counted).
bool IsDate(std::string_view s);

}  // namespace sb
