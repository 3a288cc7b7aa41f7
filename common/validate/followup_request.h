// The one rule for a follow-up request (proto FollowUpRequest). Every entry point checks a request
// with CheckFollowUpRequest: the gateway's FollowUpService.Create (plus what only it knows: the
// queues of the config in force), the shard's follow-up scheduler, the channel adapters. What the
// API accepts the scheduler accepts (tests/unit/validate feeds one corpus through both): a
// request is never answered OK and then refused where nobody hears of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/status.h"
#include "switchboard/v1/followup.pb.h"

namespace sb::validate {

namespace pb = ::switchboard::v1;

inline constexpr size_t kMaxIdBytes = 128;
inline constexpr size_t kMaxSurnameBytes = 64;
inline constexpr size_t kMaxFollowUpNoteBytes = 2000;
// Times: 0 (unset) or within [2000-01-01, 2100-01-01) UTC, in ms since the epoch.
inline constexpr int64_t kMinTimeMs = 946684800000;
inline constexpr int64_t kMaxTimeMs = 4102444800000;

// A request id (the follow-up task's id): 1..128 of letters, digits and . _ : / -
bool ValidRequestId(std::string_view id);
// The kinds that call the customer back (callback, complaint reply, return visit, knowledge gap).
bool CallsCustomer(pb::FollowUpKind kind);

// kInvalidArgument "field <prefix><name>: <problem>" for the first field of `r` that breaks a
// rule; deadlines and windows must lie after `now_ms`. The message never repeats a phone
// number (it reaches logs). Pure apart from the zone database (common/zone.h).
Status CheckFollowUpRequest(const pb::FollowUpRequest& r, int64_t now_ms,
                            std::string_view prefix = "");

}  // namespace sb::validate
