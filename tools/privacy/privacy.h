// switchboard privacy: the personal-data life cycle of follow-up tasks (docs in README.md
// "Personal data").
//   archive  copies every ended task from sb.followups into the archive directory
//            (tools/privacy/archive.h) before the shards remove it at the end of its retention
//            (FollowUpConfig.ended_retention_days); --once reads to the end and exits.
//   erase    the right to erasure: sends FollowUpErase to every shard, waits until sb.followups
//            shows each of the customer's tasks removed, removes the customer's lines from the
//            archive, and reports where the customer's data was and what still holds it until
//            its retention passes (time-retained topics, compaction).
#pragma once

namespace sb::privacy {

int Main(int argc, char** argv);

}  // namespace sb::privacy
