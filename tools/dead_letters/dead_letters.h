// switchboard dead-letters: prints the records of sb.dead-letter (router/kafka/dead_letter.h), one
// JSON object per line, oldest first per partition: where each came from, why, who wrote it.
#pragma once

#include <string>

#include "switchboard/v1/cluster.pb.h"

namespace sb::dead_letters {

// One dead letter as a JSON object on one line. The source value (which may hold customer
// data) only as its size, unless `with_value` (then base64 too).
std::string ToJsonLine(const ::switchboard::v1::DeadLetter& letter, bool with_value);

int Main(int argc, char** argv);

}  // namespace sb::dead_letters
