// The /wallboard page: one self-contained HTML document (inline CSS and JS, no external assets, so
// it works on an isolated operations network). It renders the inlined snapshot at once, then
// follows /wallboard/events with EventSource. Pure; any thread.
#pragma once

#include <string>

namespace sb::wallboard {

// `snapshot_json` is a Snapshot() serialized; it is escaped for a <script> element here.
std::string Page(const std::string& snapshot_json);

}  // namespace sb::wallboard
