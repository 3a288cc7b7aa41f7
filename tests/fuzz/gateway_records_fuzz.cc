// Fuzz target: sb.assignments and sb.contacts records as a gateway reads them (any producer can
// write to the topics), fed to what the gateway feeds them to, the way gateway.cc does: a
// ShardOutput's decision, once per output id (SeenOutputs), to the contact book, the desks and
// the answers awaited; a RoutingEvent's contact arrival or end to the contact book. The input is
// a sequence of records separated by 0x1e; each starts with one byte: bit 0 picks the topic
// (0: sb.assignments, the rest a ShardOutput; 1: sb.contacts, the rest a RoutingEvent), bit 1
// prunes the book at the record's time after it. Two agents have desks (one per shard) and
// Transfers wait for answers about two contacts.
// Malformed records are fine; crashes, and these are not: a book past its bound, an entry under
// another contact's id or in no state, a final state that changes, a contact submitted by a named
// caller reachable by another, an update reaching a desk that is not its agent's on its shard (or
// another session's refusal reaching it), an answer lost or given for another contact.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/time/time.h"
#include "router/gateway/answers.h"
#include "router/gateway/contact_book.h"
#include "router/gateway/desks.h"
#include "router/gateway/seen_outputs.h"
#include "switchboard/v1/cluster.pb.h"
#include "switchboard/v1/events.pb.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

constexpr char kTarget[] = "gateway_records_fuzz";
namespace pb = ::switchboard::v1;
namespace gw = ::sb::gateway;

// Small bounds, so a fuzz input reaches them.
constexpr gw::ContactBookOptions kBook{.max_contacts = 16, .ended_ttl_ms = 60'000};
constexpr size_t kSeenOutputs = 8;
constexpr int64_t kRecordIntervalMs = 1000;  // record timestamps: one a second
// Each check of the answers awaits every one of them: bounded so an input stays fast.
constexpr size_t kMaxAnswersChecked = 256;
// A caller no contact of the input is submitted by.
constexpr char kStranger[] = "\x01stranger";

struct TestDesk {
  std::string agent_id;
  int32_t partition;
  std::string session;
  int64_t login_offset;
  std::shared_ptr<gw::Desk> desk;
};

struct TestWait {
  std::string contact_id;
  gw::Answers::WaitId id = 0;
};

class GatewayReader {
 public:
  GatewayReader() : book_(kBook), seen_(kSeenOutputs), desks_(/*grace_ms=*/60'000) {
    for (auto [agent, partition, session, login] :
         {std::tuple{"a1", 0, "n1-s1", int64_t{5}}, std::tuple{"a2", 1, "n1-s2", int64_t{-1}}}) {
      test_desks_.push_back({agent, partition, session, login, nullptr});
      OpenDesk(test_desks_.back());
    }
    for (const char* contact : {"c1", "c2"}) waits_.push_back({contact, answers_.Begin(contact)});
  }

  ~GatewayReader() {
    for (const TestWait& w : waits_) answers_.End(w.id);
  }

  void Assignment(std::string_view bytes) {
    pb::ShardOutput out;
    if (!out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
    if (!out.has_decision()) return;
    if (!out.output_id().empty() && !seen_.FirstTime(out.output_id())) return;
    const pb::Decision& d = out.decision();
    book_.OnDecision(d);
    desks_.Deliver(d, out.shard());
    answers_.Offer(d);
    CheckDesks(&d, out.shard());
    if (!d.input_topic().empty() && answered_.size() < kMaxAnswersChecked &&
        (d.type() == pb::DECISION_TRANSFERRED || d.type() == pb::DECISION_REFUSED)) {
      answered_.push_back(d);
    }
    CheckBook(d.contact_id());
  }

  void Contact(std::string_view bytes, int64_t timestamp_ms) {
    pb::RoutingEvent ev;
    if (!ev.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
    const int64_t at = ev.at_ms() != 0 ? ev.at_ms() : timestamp_ms;
    std::string id;
    switch (ev.event_case()) {
      case pb::RoutingEvent::kContactArrived: {
        const pb::Contact& c = ev.contact_arrived().contact();
        id = c.id();
        // The first arrival of a contact says who submitted it (also when a decision about it
        // was read first).
        if (!submitted_by_.count(id)) {
          auto by = c.attributes().find(gw::kSubmittedByAttribute);
          submitted_by_[id] = by == c.attributes().end() ? "" : by->second;
        }
        book_.OnArrived(c, at);
        break;
      }
      case pb::RoutingEvent::kContactCancelled:
        id = ev.contact_cancelled().contact_id();
        book_.OnCancelled(id, at);
        break;
      case pb::RoutingEvent::kContactAbandoned:
        id = ev.contact_abandoned().contact_id();
        book_.OnAbandoned(id, at);
        break;
      case pb::RoutingEvent::kContactEnded:
        id = ev.contact_ended().contact_id();
        book_.OnEnded(id, at);
        break;
      default:
        return;
    }
    CheckDesks(nullptr, 0);
    CheckBook(id);
  }

  void Prune(int64_t now_ms) {
    book_.Prune(now_ms);
    CheckBook("");
  }

  // Every answer offered about a contact a Transfer waits for is found by it, and only those.
  void CheckAnswers() {
    for (const TestWait& w : waits_) {
      for (const pb::Decision& d : answered_) {
        auto got = answers_.Await(w.id, d.input_topic(), d.input_offset(), /*timeout_ms=*/0);
        if (d.contact_id() == w.contact_id && !got) {
          sb::fuzz::Die(kTarget, "an answer awaited was lost", d.ShortDebugString());
        }
        if (got && (got->contact_id() != w.contact_id || got->input_topic() != d.input_topic() ||
                    got->input_offset() != d.input_offset())) {
          sb::fuzz::Die(kTarget, "an answer to another record or contact", got->ShortDebugString());
        }
      }
    }
  }

 private:
  void OpenDesk(TestDesk& t) {
    pb::Agent agent;
    agent.set_id(t.agent_id);
    t.desk = desks_.Open(agent, t.partition, t.session);
    if (t.desk == nullptr) sb::fuzz::Die(kTarget, "desk refused", t.agent_id);
    t.desk->set_login_offset(t.login_offset);
  }

  // What reached each desk came from `d` (nullptr: nothing may have), a decision about its agent
  // from its shard, and not another session's refusal. A desk ended is gone from the desks.
  void CheckDesks(const pb::Decision* d, int32_t shard) {
    for (TestDesk& t : test_desks_) {
      std::deque<pb::AgentUpdate> updates;
      const bool closed = t.desk->Take(absl::ZeroDuration(), &updates);
      if (!updates.empty()) {
        if (d == nullptr || d->agent_id() != t.agent_id || shard != t.partition) {
          sb::fuzz::Die(kTarget, "an update reached another agent's desk or shard", t.agent_id);
        }
        const bool others_refusal =
            d->type() == pb::DECISION_REFUSED && !d->session().empty() && d->session() != t.session;
        if (others_refusal) {
          sb::fuzz::Die(kTarget, "another session's refusal reached a desk", d->ShortDebugString());
        }
      }
      if (closed) {
        if (desks_.Find(t.agent_id) == t.desk) {
          sb::fuzz::Die(kTarget, "an ended desk is still the agent's", t.agent_id);
        }
        OpenDesk(t);  // the desktop logs in again
      }
    }
  }

  // The book about `id` (empty: nothing touched) and the bounds and final states of every entry.
  void CheckBook(const std::string& id) {
    if (book_.size() > kBook.max_contacts) {
      sb::fuzz::Die(kTarget, "contact book past its bound", std::to_string(book_.size()));
    }
    if (!id.empty()) {
      auto status = book_.Get(id);
      if (status && status->contact_id() != id) {
        sb::fuzz::Die(kTarget, "an entry under another contact's id", status->contact_id());
      }
      // ContactService.Get answers what the book holds: a contact it knows is in some state.
      if (status && status->state() == pb::CONTACT_STATE_UNSPECIFIED) {
        sb::fuzz::Die(kTarget, "a contact known in no state", status->ShortDebugString());
      }
      if (status && gw::IsFinal(status->state())) final_.try_emplace(id, status->state());
    }
    for (auto it = final_.begin(); it != final_.end();) {
      auto status = book_.Get(it->first);
      if (!status) {  // forgotten (evicted or pruned): a later record may start it afresh
        it = final_.erase(it);
        continue;
      }
      if (status->state() != it->second) {
        sb::fuzz::Die(kTarget, "a final state changed", status->ShortDebugString());
      }
      ++it;
    }
    for (auto it = submitted_by_.begin(); it != submitted_by_.end();) {
      if (!book_.Get(it->first)) {
        it = submitted_by_.erase(it);
        continue;
      }
      const bool anyone = it->second.empty() || it->second == kStranger;
      if (book_.SubmittedBy(it->first, kStranger) != anyone) {
        sb::fuzz::Die(kTarget, "who may reach a contact is not who submitted it", it->first);
      }
      ++it;
    }
  }

  gw::ContactBook book_;
  gw::SeenOutputs seen_;
  gw::Desks desks_;
  gw::Answers answers_;
  std::vector<TestDesk> test_desks_;
  std::vector<TestWait> waits_;
  std::vector<pb::Decision> answered_;
  std::map<std::string, pb::ContactState> final_;
  // The submitter of each contact whose arrival created its entry ("": the shards' own).
  std::map<std::string, std::string> submitted_by_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Invalid UTF-8 in a string field fails the parse, and protobuf logs it: quiet.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  if (size > sb::fuzz::kMaxInputBytes) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  GatewayReader gateway;
  int64_t timestamp_ms = 1772416800000;
  for (std::string_view rec : sb::fuzz::Records(input)) {
    const auto header = static_cast<uint8_t>(rec[0]);
    rec.remove_prefix(1);
    timestamp_ms += kRecordIntervalMs;
    if (header & 1) {
      gateway.Contact(rec, timestamp_ms);
    } else {
      gateway.Assignment(rec);
    }
    if (header & 2) gateway.Prune(timestamp_ms);
  }
  gateway.CheckAnswers();
  return 0;
}
