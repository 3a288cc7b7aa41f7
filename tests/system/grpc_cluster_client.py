"""The acceptance client of grpc_cluster_test.sh: an independent Python grpcio client (stubs
generated from our proto at test time) acting as one integrator and as 20 agent desktops against
a 2-node cluster.

- 20 desktops, spread over both nodes and 4 domains, each on its own AgentService.Session with
  its own agent token: login (skill general), ready; accept every offer, complete, wrap up,
  ready again.
- The integrator submits N contacts through ContactService.Submit (alternating nodes, unique
  idempotency keys; a few keys submitted again must name the same contact) and follows them
  (Get polling; Watch on the cut contact) until every one is COMPLETED.
- Stream cut: one desktop's stream is cancelled (its channel closed, no complete, no wrap-up)
  while it holds a CONNECTED contact. The engine requeues what a logged-out agent held, connected
  contacts included (EngineImpl::Logout), so after the gateway's grace period the contact must go
  back to its queue and be accepted and completed by another agent.

Every wait has a deadline; exits non-zero with "FAIL: ..." on any violation.
Usage: grpc_cluster_client.py <addr1> <addr2> <tokens.json> <contacts> <grace_s>
"""
import json
import queue
import random
import sys
import threading
import time

import grpc
from switchboard.v1 import (agent_pb2, common_pb2, contact_pb2, decision_pb2, services_pb2 as s,
                            services_pb2_grpc as g)

ADDRS = sys.argv[1:3]
TOKENS = json.load(open(sys.argv[3]))
N = int(sys.argv[4])
GRACE_S = float(sys.argv[5])
DOMAINS = ["d00", "d01", "d02", "d03"]
AGENTS = sorted(TOKENS["agents"])
VICTIM = AGENTS[5]
CUT_AFTER = N // 5  # the victim's stream is cut on its first connection after this many submits
T0 = time.time()
DEADLINE = T0 + float(sys.argv[6]) if len(sys.argv) > 6 else T0 + 150

lock = threading.Lock()
offers = {}      # contact -> [(agent, attempt)]
accepted = {}    # contact -> [(agent, attempt, time)]
completed = {}   # contact -> [agent]
violations = []
submitted = {}   # key -> contact id
submitted_count = 0
cut = {}         # contact, agent, at
stop = threading.Event()
cut_event = threading.Event()


def log(*a):
    print(f"[{time.time() - T0:6.1f}s]", *a, flush=True)


def violation(msg):
    with lock:
        violations.append(msg)
    log("VIOLATION:", msg)


def md(token):
    return [("authorization", "Bearer " + token)]


class Desktop(threading.Thread):
    def __init__(self, idx, agent_id):
        super().__init__(daemon=True, name=agent_id)
        self.agent_id = agent_id
        self.addr = ADDRS[idx % 2]
        self.domain = DOMAINS[(idx // 2) % len(DOMAINS)]
        self.token = TOKENS["agents"][agent_id]
        self.out = queue.Queue()
        self.node = None
        self.logged_in = threading.Event()
        self.handled = 0
        self.done = threading.Event()
        self.error = None

    def send(self, **kw):
        self.out.put(s.AgentRequest(**kw))

    def requests(self):
        while True:
            r = self.out.get()
            if r is None:
                return
            yield r

    def run(self):
        self.channel = grpc.insecure_channel(self.addr)
        try:
            self.session()
        except grpc.RpcError as e:
            if not (self.agent_id == VICTIM and cut) and not stop.is_set():
                self.error = f"{self.agent_id}: stream failed: {e.code()} {e.details()}"
                violation(self.error)
        except Exception as e:  # noqa: BLE001 -- reported as a failure of the test
            self.error = f"{self.agent_id}: {e!r}"
            violation(self.error)
        finally:
            self.done.set()

    def session(self):
        stub = g.AgentServiceStub(self.channel)
        agent = agent_pb2.Agent(id=self.agent_id, domain=self.domain,
                                skills=[common_pb2.SkillLevel(skill="general", proficiency=3)])
        self.send(login=s.AgentLoginRequest(agent=agent, ready=True))
        self.call = stub.Session(self.requests(), metadata=md(self.token))
        for u in self.call:
            kind = u.WhichOneof("update")
            if kind == "logged_in":
                self.node = u.logged_in.node_id
                self.logged_in.set()
            elif kind == "offer":
                d = u.offer
                if d.agent_id != self.agent_id:
                    violation(f"{self.agent_id} got an offer for {d.agent_id}: {d}")
                    continue
                with lock:
                    offers.setdefault(d.contact_id, []).append((self.agent_id, d.attempt))
                    accepted.setdefault(d.contact_id, []).append((self.agent_id, d.attempt,
                                                                  time.time()))
                self.send(accept=s.AgentAcceptRequest(contact_id=d.contact_id, attempt=d.attempt))
            elif kind == "decision":
                d = u.decision
                if d.agent_id != self.agent_id:
                    violation(f"{self.agent_id} got a decision for {d.agent_id}: {d}")
                    continue
                if d.type != decision_pb2.DECISION_CONNECTED:
                    continue
                if self.agent_id == VICTIM and not cut and submitted_count >= CUT_AFTER:
                    # Cut the stream while holding a CONNECTED contact: no complete, no wrap-up.
                    with lock:
                        cut.update(contact=d.contact_id, agent=self.agent_id, at=time.time())
                    cut_event.set()
                    log(f"cutting {self.agent_id}'s stream (node {self.node}) holding "
                        f"{d.contact_id} CONNECTED")
                    self.call.cancel()
                    self.channel.close()
                    self.out.put(None)
                    return
                time.sleep(random.uniform(0.01, 0.08))  # the conversation
                with lock:
                    completed.setdefault(d.contact_id, []).append(self.agent_id)
                self.handled += 1
                self.send(complete=s.AgentCompleteRequest(contact_id=d.contact_id))
                self.send(wrap_up=s.AgentWrapUpRequest(contact_id=d.contact_id,
                                                       disposition="resolved"))
                self.send(ready=s.AgentReadyRequest())
            elif kind == "refused":
                violation(f"{self.agent_id}: action refused: {u.refused.code} {u.refused.message}")
        if not stop.is_set():
            raise RuntimeError("stream ended before the test stopped it")

    def close(self):
        self.send(logout=s.AgentLogoutRequest(reason="end of test"))
        self.out.put(None)


def wait_until(pred, timeout, what):
    end = min(time.time() + timeout, DEADLINE)
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    raise SystemExit(f"FAIL: timed out waiting for {what}")


def main():
    global submitted_count
    integ = TOKENS["integrator"]
    chans = [grpc.insecure_channel(a) for a in ADDRS]
    for ch in chans:
        grpc.channel_ready_future(ch).result(timeout=20)
    contacts = [g.ContactServiceStub(ch) for ch in chans]

    desks = [Desktop(i, a) for i, a in enumerate(AGENTS)]
    for d in desks:
        d.start()
    wait_until(lambda: all(d.logged_in.is_set() or d.done.is_set() for d in desks), 30,
               "20 desktop logins")
    if violations:
        raise SystemExit("FAIL: " + violations[0])
    nodes = {d.node for d in desks}
    log(f"20 desktops logged in on nodes {sorted(nodes)}")
    if len(nodes) != 2:
        raise SystemExit(f"FAIL: desktops served by {nodes}, expected both nodes")

    # The cut: the victim's contact must be requeued and served by another agent; Watch follows
    # it from the moment of the cut.
    watched = []

    def watch_cut():
        if not cut_event.wait(timeout=max(1, DEADLINE - time.time())):
            return
        try:
            for u in contacts[0].Watch(s.WatchContactRequest(contact_id=cut["contact"]),
                                       metadata=md(integ), timeout=max(5, DEADLINE - time.time())):
                watched.append(u)
                if u.status.state == contact_pb2.CONTACT_STATE_COMPLETED:
                    return
        except grpc.RpcError as e:
            if not stop.is_set():
                violation(f"Watch of {cut['contact']}: {e.code()} {e.details()}")

    watcher = threading.Thread(target=watch_cut, daemon=True)
    watcher.start()

    # Submit N contacts at a modest rate, alternating nodes.
    run = f"{int(T0)}"
    keys = []
    rate = 25.0
    for k in range(N):
        key = f"gc-{run}-{k:04d}"
        req = s.SubmitContactRequest()
        req.contact.idempotency_key = key
        req.contact.queue = f"{DOMAINS[k % len(DOMAINS)]}.general"
        req.contact.channel = common_pb2.CHANNEL_VOICE
        r = contacts[k % 2].Submit(req, metadata=md(integ), timeout=20)
        if r.existing:
            raise SystemExit(f"FAIL: new key {key} answered existing")
        if r.contact_id in submitted.values():
            raise SystemExit(f"FAIL: contact id {r.contact_id} named twice")
        submitted[key] = r.contact_id
        keys.append((key, req))
        submitted_count = k + 1
        if k % 100 == 99:
            log(f"submitted {k + 1}")
        lag = T0 + 2 + (k + 1) / rate - time.time()
        if lag > 0:
            time.sleep(min(lag, 0.2))

    # Re-submits of known keys, on both nodes: the same contact, existing, nothing new.
    time.sleep(1)
    for i, (key, req) in enumerate(keys[::N // 8]):
        r = contacts[i % 2].Submit(req, metadata=md(integ), timeout=20)
        if r.contact_id != submitted[key] or not r.existing:
            raise SystemExit(f"FAIL: re-submit of {key}: {r} (first {submitted[key]})")
    log("re-submits named the same contacts")

    wait_until(lambda: bool(cut), 60, "the victim's stream cut")
    # Every contact completed by a desktop, then COMPLETED in both gateways' books.
    wait_until(lambda: len(completed) == N or violations, 100, f"{N} contacts completed")
    if violations:
        raise SystemExit("FAIL: " + violations[0])
    log(f"all {N} contacts completed by the desktops")
    pending = set(submitted.values())
    last = {}
    end = min(time.time() + 20, DEADLINE)
    while pending and time.time() < end:
        for cid in sorted(pending):
            i = hash(cid) % 2
            try:
                st = contacts[i].Get(s.GetContactRequest(contact_id=cid), metadata=md(integ),
                                     timeout=10).status
            except grpc.RpcError as e:
                last[cid] = f"{e.code()} {e.details()}"
                continue
            last[cid] = st
            if st.state == contact_pb2.CONTACT_STATE_COMPLETED:
                pending.discard(cid)
        if pending:
            time.sleep(0.3)
    if pending:
        cid = sorted(pending)[0]
        raise SystemExit(f"FAIL: {len(pending)} contacts not COMPLETED per Get, e.g. {cid}: "
                         f"{last.get(cid)}")
    log(f"all {N} contacts COMPLETED per ContactService.Get")
    watcher.join(timeout=max(1, DEADLINE - time.time()))

    # Assertions.
    problems = []
    ids = set(submitted.values())
    if len(ids) != N:
        problems.append(f"{len(ids)} distinct contact ids for {N} keys")
    if set(completed) != ids:
        problems.append(f"completed contacts differ from submitted: "
                        f"{sorted(set(completed) ^ ids)[:5]}")
    for cid in ids:
        acc = accepted.get(cid, [])
        done = completed.get(cid, [])
        if cid == cut.get("contact"):
            before = [a for a in acc if a[2] <= cut["at"]]
            after = [a for a in acc if a[2] > cut["at"]]
            if [a[0] for a in before] != [VICTIM]:
                problems.append(f"cut contact {cid}: accepted before the cut by {before}")
            if len(after) != 1 or after[0][0] == VICTIM:
                problems.append(f"cut contact {cid}: accepted after the cut by {after}, expected "
                                f"exactly one agent other than {VICTIM}")
            if len(done) != 1 or done[0] == VICTIM or (after and done[0] != after[0][0]):
                problems.append(f"cut contact {cid}: completed by {done}")
            requeued = [u for u in watched if u.decision.type == decision_pb2.DECISION_REQUEUE]
            if not watched or watched[-1].status.state != contact_pb2.CONTACT_STATE_COMPLETED \
                    or watched[-1].status.agent_id == VICTIM:
                problems.append(f"cut contact {cid}: Watch ended with "
                                f"{watched[-1].status if watched else 'nothing'}")
            gap = (after[0][2] - cut["at"]) if after else -1
            if gap < GRACE_S * 0.8:
                problems.append(f"cut contact {cid}: served again {gap:.1f}s after the cut, "
                                f"before the grace period ({GRACE_S}s)")
            seen = [(contact_pb2.ContactState.Name(u.status.state)[14:], u.status.agent_id,
                     decision_pb2.DecisionType.Name(u.decision.type),
                     decision_pb2.DecisionReason.Name(u.status.last_reason)) for u in watched]
            log(f"cut contact {cid}: {VICTIM} cut, offered again {gap:.1f}s later "
                f"({len(requeued)} REQUEUE seen by Watch), accepted and completed by {done}; "
                f"Watch: {seen}")
            final = last.get(cid)
            if not isinstance(final, s.ContactStatus) or final.agent_id == VICTIM:
                problems.append(f"cut contact {cid}: final status {final}")
        else:
            if len(acc) != 1:
                problems.append(f"contact {cid} accepted {len(acc)} times: {acc}")
            if len(done) != 1:
                problems.append(f"contact {cid} completed {len(done)} times: {done}")
    if not cut:
        problems.append("no stream was cut")
    per_agent = {d.agent_id: d.handled for d in desks}
    log("handled per agent:", per_agent)
    if problems or violations:
        raise SystemExit("FAIL: " + "; ".join((violations + problems)[:8]))

    # Orderly end: the 19 live desktops log out.
    stop.set()
    for d in desks:
        if d.agent_id != VICTIM:
            d.close()
    for d in desks:
        d.done.wait(timeout=max(1, DEADLINE - time.time()))
    log(f"PASS: {N} contacts submitted over 2 nodes, all completed once by 20 desktops; "
        f"{VICTIM}'s cut contact requeued and served by {completed[cut['contact']][0]}")


if __name__ == "__main__":
    import os
    import traceback

    def watchdog():  # the client stops by itself, whatever blocks
        time.sleep(max(1, DEADLINE + 10 - time.time()))
        print("FAIL: the client ran past its deadline", flush=True)
        os._exit(1)

    threading.Thread(target=watchdog, daemon=True).start()
    code = 0
    try:
        main()
    except SystemExit as e:
        print(e, flush=True)
        code = 1
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print("FAIL: client error", flush=True)
        code = 1
    stop.set()
    sys.stdout.flush()
    # Daemon threads may still block in gRPC; leave without waiting for them.
    os._exit(code)
