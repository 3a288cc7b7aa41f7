// Transfers (ContactTransferred): the connected agent's leg ends in after-contact work, the
// contact waits again in the target queue or for the named agent, keeps its arrival time, its
// answered flag and its first-contact owner, and carries the handoff note to the next agent.
#include <google/protobuf/util/message_differencer.h>

#include "tests/unit/engine/engine_fixture.h"

namespace sb::engine::testing {
namespace {

class TransferTest : public EngineTest {
 protected:
  // sales waits 60 s for a named agent; "far" is a queue of domain d2.
  void SetUp() override {
    pb::RoutingConfig cfg = BaseConfig();
    FindQueue(cfg, "sales")->set_preferred_wait_s(60);
    pb::QueueDef* far = cfg.add_queues();
    *far = *FindQueue(cfg, "sales");
    far->set_name("far");
    far->set_domain("d2");
    Build(cfg);
  }

  static pb::ContactTransferred ToQueue(const std::string& contact, const std::string& by,
                                        const std::string& queue, const std::string& note) {
    pb::ContactTransferred t;
    t.set_contact_id(contact);
    t.set_by_agent_id(by);
    t.set_to_queue(queue);
    t.set_handoff_note(note);
    return t;
  }
  static pb::ContactTransferred ToAgent(const std::string& contact, const std::string& by,
                                        const std::string& agent, const std::string& note) {
    pb::ContactTransferred t;
    t.set_contact_id(contact);
    t.set_by_agent_id(by);
    t.set_to_agent_id(agent);
    t.set_handoff_note(note);
    return t;
  }
  Decisions Transfer(const pb::ContactTransferred& t) {
    return Do([&](Decisions* o) { return engine_->ContactTransferred(t, o); });
  }
  Status TransferStatus(const pb::ContactTransferred& t) {
    Decisions out;
    return engine_->ContactTransferred(t, &out);
  }
  // c1 arrives in sales, is offered to `agent` (the only one ready) and connected.
  void ConnectFirst(const std::string& agent, const std::string& contact = "c1") {
    const Decision offer = OnlyOffer(Arrive(contact, "sales"));
    ASSERT_EQ(offer.agent_id, agent);
    Accept(agent, contact);
    ASSERT_EQ(StateOf(contact), pb::CONTACT_STATE_CONNECTED);
  }
};

TEST_F(TransferTest, ToQueueOffersTheTargetQueueAndCarriesOwnerAndNote) {
  Login("a1", {{"sales", 2}});
  ConnectFirst("a1");
  Login("a2", {{"support", 4}});
  const Decisions d = Transfer(ToQueue("c1", "a1", "support", "wants a refund"));
  ASSERT_GE(d.size(), 2u) << Describe(d);
  EXPECT_EQ(d[0].type, pb::DECISION_TRANSFERRED);
  EXPECT_EQ(d[0].agent_id, "a1");
  EXPECT_EQ(d[0].queue, "support");
  EXPECT_EQ(d[0].owner_agent_id, "a1");
  const Decision offer = OnlyOffer(d);
  EXPECT_EQ(offer.agent_id, "a2");
  EXPECT_EQ(offer.queue, "support");
  EXPECT_EQ(offer.attempt, 2u);  // (contact, attempt) stays unique across the transfer
  EXPECT_EQ(offer.owner_agent_id, "a1");
  EXPECT_EQ(offer.handoff_note, "wants a refund");
  EXPECT_EQ(AgentStateOf("a1"), pb::AGENT_STATE_AFTER_CONTACT_WORK);

  Accept("a2", "c1");
  auto v = engine_->GetContact("c1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->owner_agent_id, "a1");
  EXPECT_EQ(v->agent_id, "a2");
  EXPECT_EQ(v->transfers, 1u);
  EXPECT_EQ(v->handoff_note, "wants a refund");
}

TEST_F(TransferTest, TransferringAgentMustWrapUpBeforeTheNextOffer) {
  Login("a1", {{"sales", 2}, {"support", 4}});
  ConnectFirst("a1");
  Login("a2", {{"support", 4}});
  Transfer(ToQueue("c1", "a1", "support", "note"));
  Accept("a2", "c1");
  // a1 is in after-contact work for c1: a new contact waits for it.
  EXPECT_TRUE(OfType(Arrive("c2", "sales"), pb::DECISION_OFFER).empty());
  EXPECT_EQ(StateOf("c2"), pb::CONTACT_STATE_WAITING);
  // Wrapping up the leg does not end the contact, which a2 still holds.
  const Decision offer = OnlyOffer(WrapUp("a1", "c1"));
  EXPECT_EQ(offer.contact_id, "c2");
  EXPECT_EQ(offer.agent_id, "a1");
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_CONNECTED);
  // A second wrap-up of the leg is refused.
  Decisions out;
  EXPECT_EQ(engine_->WrapUpDone("a1", "c1", &out).code(), Code::kFailedPrecondition);
}

TEST_F(TransferTest, LegAcwEndsByItsLimitAndTheContactIsNotOfferedBack) {
  Login("a1", {{"sales", 2}});
  ConnectFirst("a1");
  Transfer(ToQueue("c1", "a1", "sales", "same queue, someone else"));
  EXPECT_TRUE(Advance(29'999).empty());
  const Decisions d = Advance(1);
  ASSERT_EQ(d.size(), 1u) << Describe(d);
  EXPECT_EQ(d[0].type, pb::DECISION_AGENT_STATE);
  EXPECT_EQ(d[0].reason, pb::REASON_ACW_LIMIT);
  EXPECT_EQ(d[0].agent_id, "a1");
  EXPECT_EQ(d[0].contact_id, "c1");
  EXPECT_EQ(d[0].queue, "sales");
  EXPECT_EQ(AgentStateOf("a1"), pb::AGENT_STATE_READY);
  // Free and qualified, but the agent who handed it on does not get it back.
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_WAITING);
  EXPECT_EQ(OnlyOffer(Login("a2", {{"sales", 1}})).contact_id, "c1");
}

TEST_F(TransferTest, ToIdleAgentIsOfferedToThem) {
  Login("a1", {{"sales", 2}});
  ConnectFirst("a1");
  Login("a2", {{"sales", 1}});
  Login("a3", {{"sales", 1}});  // idle too, but not named
  const Decisions d = Transfer(ToAgent("c1", "a1", "a3", "for a3"));
  const Decision offer = OnlyOffer(d);
  EXPECT_EQ(offer.agent_id, "a3");
  EXPECT_EQ(offer.reason, pb::REASON_PREFERRED_AGENT_IDLE);
  EXPECT_EQ(offer.queue, "sales");
  EXPECT_EQ(offer.handoff_note, "for a3");
  EXPECT_EQ(offer.owner_agent_id, "a1");
}

TEST_F(TransferTest, ToBusyAgentWaitsItsLimitFromTheTransferThenAnyone) {
  Login("a1", {{"sales", 2}});
  ConnectFirst("a1", "c1");
  Login("a2", {{"sales", 2}});
  ConnectFirst("a2", "c2");
  Advance(50'000);  // measured from the arrival, the 60 s wait would end 10 s after the transfer
  Login("a3", {{"sales", 1}});
  EXPECT_TRUE(OfType(Transfer(ToAgent("c1", "a1", "a2", "n")), pb::DECISION_OFFER).empty());
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_WAITING);
  Advance(30'000);  // a1's ACW ends: it is free, but c1 is not for it
  Advance(29'999);
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_WAITING);
  const Decision offer = OnlyOffer(Advance(1));
  EXPECT_EQ(offer.contact_id, "c1");
  EXPECT_EQ(offer.agent_id, "a3");
  EXPECT_EQ(offer.reason, pb::REASON_PREFERRED_AGENT_WAIT_LIMIT);
}

TEST_F(TransferTest, ToBusyAgentWhoFreesGetsIt) {
  Login("a1", {{"sales", 2}});
  ConnectFirst("a1", "c1");
  Login("a2", {{"sales", 2}});
  ConnectFirst("a2", "c2");
  Login("a3", {{"sales", 1}});
  Transfer(ToAgent("c1", "a1", "a2", "n"));
  End("c2");
  const Decision offer = OnlyOffer(WrapUp("a2", "c2"));
  EXPECT_EQ(offer.contact_id, "c1");
  EXPECT_EQ(offer.agent_id, "a2");
  EXPECT_EQ(offer.reason, pb::REASON_PREFERRED_AGENT_BUSY_FREED);
}

TEST_F(TransferTest, OwnerKeptAcrossTwoTransfers) {
  Login("a1", {{"sales", 2}});
  ConnectFirst("a1");
  Login("a2", {{"sales", 2}, {"support", 4}});
  Transfer(ToAgent("c1", "a1", "a2", "first note"));
  Accept("a2", "c1");
  Login("a3", {{"support", 4}});
  const Decisions d = Transfer(ToQueue("c1", "a2", "support", "second note"));
  EXPECT_EQ(d[0].type, pb::DECISION_TRANSFERRED);
  EXPECT_EQ(d[0].agent_id, "a2");
  const Decision offer = OnlyOffer(d);
  EXPECT_EQ(offer.agent_id, "a3");
  EXPECT_EQ(offer.owner_agent_id, "a1");
  EXPECT_EQ(offer.handoff_note, "second note");
  Accept("a3", "c1");
  auto v = engine_->GetContact("c1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->owner_agent_id, "a1");
  EXPECT_EQ(v->transfers, 2u);
  // Both earlier agents are in after-contact work for their legs.
  EXPECT_EQ(AgentStateOf("a1"), pb::AGENT_STATE_AFTER_CONTACT_WORK);
  EXPECT_EQ(AgentStateOf("a2"), pb::AGENT_STATE_AFTER_CONTACT_WORK);
  // The contact ends normally with a3, whose wrap-up closes it.
  End("c1");
  WrapUp("a3", "c1");
  EXPECT_FALSE(engine_->GetContact("c1").ok());
  WrapUp("a1");
  WrapUp("a2");
  EXPECT_EQ(AgentStateOf("a1"), pb::AGENT_STATE_READY);
}

TEST_F(TransferTest, ServiceLevelCountedOnce) {
  Login("a1", {{"sales", 2}});
  ConnectFirst("a1");  // answered at once: within the threshold
  Advance(5'000);
  Transfer(ToQueue("c1", "a1", "support", "n"));  // nobody has support yet
  Advance(25'000);  // answered again 30 s after arrival: past the 20 s threshold
  EXPECT_EQ(OnlyOffer(Login("a2", {{"support", 4}})).contact_id, "c1");
  Accept("a2", "c1");
  EXPECT_EQ(Stats("sales").arrived(), 1u);
  EXPECT_EQ(Stats("sales").answered(), 1u);
  EXPECT_EQ(Stats("sales").answered_in_threshold(), 1u);
  EXPECT_EQ(Stats("support").arrived(), 0u);
  EXPECT_EQ(Stats("support").answered(), 0u);
  // Leaving while offered or waiting again is not an abandon on top of the answer.
  End("c1");
  WrapUp("a2");
  Login("a3", {{"sales", 2}});
  ConnectFirst("a3", "c3");                       // a1 is still in ACW for c1
  Transfer(ToQueue("c3", "a3", "support", "n"));  // offered to a2
  EXPECT_EQ(StateOf("c3"), pb::CONTACT_STATE_OFFERED);
  Decisions out;
  ASSERT_TRUE(engine_->ContactAbandoned("c3", &out).ok());
  EXPECT_EQ(Stats("sales").abandoned(), 0u);
  EXPECT_EQ(Stats("sales").short_abandoned(), 0u);
  EXPECT_EQ(Stats("support").abandoned(), 0u);
}

TEST_F(TransferTest, KeepsArrivalTimeForQueueOrder) {
  Login("a1", {{"sales", 2}});
  ConnectFirst("a1");
  Advance(10'000);
  Arrive("c2", "support");  // waits: nobody has support
  Transfer(ToQueue("c1", "a1", "support", "n"));
  Login("a2", {{"support", 4}});  // takes the contact that arrived first: c1
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_OFFERED);
  EXPECT_EQ(StateOf("c2"), pb::CONTACT_STATE_WAITING);
}

TEST_F(TransferTest, Refusals) {
  Login("a1", {{"sales", 2}});
  Login("x", {{"sales", 2}}, /*ready=*/true, "d2");
  ConnectFirst("a1");
  Arrive("w", "sales");  // waiting: a1 is busy
  Login("a2", {{"sales", 2}}, /*ready=*/false);
  Login("a9", {{"sales", 2}}, /*ready=*/false);
  Decisions out;
  ASSERT_TRUE(engine_->AgentLogout("a9", &out).ok());

  Status st = TransferStatus(ToQueue("w", "", "support", "n"));
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("CONTACT_STATE_WAITING"), std::string::npos) << st.ToString();
  st = TransferStatus(ToQueue("c1", "a2", "support", "n"));
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("not connected to agent \"a2\""), std::string::npos);
  st = TransferStatus(ToQueue("c1", "a1", "far", "n"));
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("\"d2\""), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("\"d1\""), std::string::npos) << st.ToString();
  st = TransferStatus(ToAgent("c1", "a1", "x", "n"));
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  st = TransferStatus(ToAgent("c1", "a1", "a1", "n"));
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  st = TransferStatus(ToAgent("c1", "a1", "a9", "n"));
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  st = TransferStatus(ToAgent("c1", "a1", "nobody", "n"));
  EXPECT_EQ(st.code(), Code::kNotFound) << st.ToString();
  st = TransferStatus(ToQueue("c1", "a1", "nowhere", "n"));
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  st = TransferStatus(ToQueue("c1", "a1", "support", ""));
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  st = TransferStatus(ToQueue("nope", "a1", "support", "n"));
  EXPECT_EQ(st.code(), Code::kNotFound) << st.ToString();
  // Nothing changed.
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_CONNECTED);
  EXPECT_EQ(AgentStateOf("a1"), pb::AGENT_STATE_BUSY);
  // An integrator (no by_agent_id) may transfer it.
  EXPECT_EQ(Transfer(ToQueue("c1", "", "support", "n"))[0].type, pb::DECISION_TRANSFERRED);
}

// A snapshot taken mid-transfer (a leg in ACW, the contact waiting for its named agent) restores
// to an engine that decides exactly as the original.
TEST_F(TransferTest, RestoreMidTransferDecidesTheSame) {
  Login("a1", {{"sales", 2}});
  ConnectFirst("a1", "c1");
  Login("a2", {{"sales", 2}, {"support", 4}});
  ConnectFirst("a2", "c2");
  Advance(50'000);
  Login("a3", {{"sales", 1}});
  Transfer(ToAgent("c1", "a1", "a2", "restore me"));
  Advance(1'000);

  pb::EngineState parsed;
  ASSERT_TRUE(parsed.ParseFromString(engine_->ExportState().SerializeAsString()));
  ManualClock clock2{clock_.NowMs()};
  auto restored = Engine::Restore(config_, &clock2, parsed);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  Engine& other = **restored;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(engine_->ExportState(),
                                                                 other.ExportState()));

  auto both = [&](auto call) {
    Decisions x, y;
    Status sx = call(*engine_, &x), sy = call(other, &y);
    EXPECT_EQ(sx.code(), sy.code());
    EXPECT_EQ(x, y) << Describe(x) << " vs " << Describe(y);
    return x;
  };
  auto advance = [&](int64_t ms) {
    clock_.AdvanceMs(ms);
    clock2.AdvanceMs(ms);
    return both([](Engine& e, Decisions* o) {
      e.Tick(o);
      return Status::Ok();
    });
  };
  EXPECT_EQ(OfType(advance(29'000), pb::DECISION_AGENT_STATE).size(), 1u);  // a1's leg limit
  Decisions d = advance(30'000);  // the preferred wait ends: a3
  ASSERT_EQ(OfType(d, pb::DECISION_OFFER).size(), 1u) << Describe(d);
  EXPECT_EQ(OfType(d, pb::DECISION_OFFER)[0].handoff_note, "restore me");
  both([](Engine& e, Decisions* o) { return e.OfferAccepted("a3", "c1", 0, o); });
  both([](Engine& e, Decisions* o) {
    return e.ContactTransferred(ToQueue("c1", "a3", "support", "again"), o);
  });
  both([](Engine& e, Decisions* o) { return e.ContactEnded("c2", o); });
  d = both([](Engine& e, Decisions* o) { return e.WrapUpDone("a2", "c2", o); });
  EXPECT_EQ(OnlyOffer(d).handoff_note, "again");
  advance(40'000);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(engine_->ExportState(),
                                                                 other.ExportState()));
}

// Change tracking writes the transfer's records: replaying them over the previous export gives
// the current one.
TEST_F(TransferTest, ChangesCarryTheTransfer) {
  Login("a1", {{"sales", 2}});
  ConnectFirst("a1");
  engine_->TrackChanges(true);
  Changes changes;
  engine_->TakeChanges(&changes);
  Transfer(ToQueue("c1", "a1", "support", "n"));
  engine_->TakeChanges(&changes);
  ASSERT_EQ(changes.contacts.size(), 1u);
  EXPECT_EQ(changes.contacts[0].owner_agent_id(), "a1");
  EXPECT_EQ(changes.contacts[0].transfers(), 1u);
  EXPECT_EQ(changes.contacts[0].queue(), "support");
  ASSERT_EQ(changes.agents.size(), 1u);
  ASSERT_EQ(changes.agents[0].items_size(), 1u);
  EXPECT_GT(changes.agents[0].items(0).acw_due_ms(), 0);
}

}  // namespace
}  // namespace sb::engine::testing
