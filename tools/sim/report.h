// Summaries of a simulator run across replications: mean and 95% confidence interval of every
// figure (Student's t over the replications), printed as a table or as one JSON object.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tools/sim/simulation.h"

namespace sb::sim {

// Mean and the half-width of its 95% confidence interval (0 with one replication).
struct Estimate {
  double mean = 0;
  double ci95 = 0;
};
Estimate Estimate95(const std::vector<double>& samples);

// The figures of one queue (or of all queues) over the replications.
struct Figures {
  Estimate offered, answered, abandoned, service_level, asa_s, abandon_rate, occupancy, max_wait_s;
};
Figures Summarize(const std::vector<Metrics>& per_replication);

// Fairness across agents in one strategy's run (means over replications).
struct Fairness {
  Estimate occupancy_spread;  // max − min agent occupancy
  Estimate occupancy_stddev;
  std::map<std::string, Estimate> max_wait_by_class;
};
Fairness SummarizeFairness(const std::vector<ReplicationResult>& runs);

// {"replications": K, "queues": [{"queue": ..., <figures>}], "total": {<figures>}}; every figure
// as "name": mean with "ci95": {"name": half-width} beside.
nlohmann::json ToJson(const std::vector<ReplicationResult>& runs);
std::string ToTable(const std::vector<ReplicationResult>& runs);

}  // namespace sb::sim
