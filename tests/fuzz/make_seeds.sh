#!/usr/bin/env bash
# Writes the seed corpora of control_fuzz, checkpoint_fuzz, gateway_records_fuzz and http_fuzz
# (tests/fuzz/corpus/<target>/seed_*): small valid-ish inputs in each target's format (see the
# comment at the top of its .cc), protobuf messages encoded from text format by protoc. Re-run
# after a format change; files the fuzzer added to the corpus are left alone.
set -euo pipefail
cd "$(dirname "$0")"
CORPUS=corpus
PROTO=../../proto

# enc MESSAGE TEXT: the binary encoding of a switchboard.v1 message given in protobuf text format.
enc() {
  local files=("$PROTO"/switchboard/v1/*.proto)
  printf '%s' "$2" | protoc -I "$PROTO" --encode="switchboard.v1.$1" "${files[@]#"$PROTO"/}"
}
# seed TARGET NAME: writes stdin to the target's corpus.
seed() { mkdir -p "$CORPUS/$1" && cat >"$CORPUS/$1/seed_$2"; }
RS=$'\x1e'  # record separator
US=$'\x1f'  # field separator (checkpoint_fuzz)

# ---- control_fuzz: records of sb.control ----
config='skills {name: "general"} domains {name: "d00"} domains {name: "d01"}
  queues {name: "d00.general" domain: "d00" offer_timeout_s: 30}
  queues {name: "d01.general" domain: "d01" offer_timeout_s: 30}'
smaller='skills {name: "general"} domains {name: "d00"}
  queues {name: "d00.general" domain: "d00" offer_timeout_s: 30}'
# The version of a config: ConfigVersionOf (SHA-256 of the serialization, 16 hex digits).
version=$(enc RoutingConfig "$config" | sha256sum | cut -c1-16)
{ printf '\x01'; enc RoutingConfig "$config"; printf '%s\x02%s' "$RS" "$version"; } |
  seed control_fuzz apply
{ printf '\x05'; enc RoutingConfig "$smaller"; printf '%s\x01' "$RS"; enc RoutingConfig "$config"
  printf '%s\x02%s%s\x02' "$RS" "$version" "$RS"; } | seed control_fuzz local_then_removed
{ printf '\x00config/0123456789abcdef\x00'
  enc ConfigVersion "version: \"0123456789abcdef\" config {$smaller}"; } |
  seed control_fuzz wrong_version
{ printf '\x03n1\x00admin%s\x03n2\x00admin%s\x03n1%s\x00drain/n3\x00' "$RS" "$RS" "$RS"
  enc NodeDrain 'node_id: "n4"'; } | seed control_fuzz drains
printf '\x00config/current\x00\x0a%s\x00other/key\x00x%s\x00config/current' "$RS" "$RS" |
  seed control_fuzz malformed
# A valid config with many domains, then one without them: the refusal names a few, counts the rest.
many="$smaller"
for i in $(seq 1 12); do many+=" domains {name: \"domain-with-a-long-name-to-make-the-message-long-$i\"}"; done
{ printf '\x05'; enc RoutingConfig "$many"; printf '%s\x05' "$RS"; enc RoutingConfig "$smaller"; } |
  seed control_fuzz many_removed

# ---- checkpoint_fuzz: a changelog (first byte even) or a RocksDB checkpoint (odd) ----
agent='agent {id: "a1" domain: "d00"} presence: AGENT_STATE_READY idle_since_ms: 1000'
contact='contact {id: "c1" queue: "d00.general"} state: CONTACT_STATE_WAITING seq: 3 queue: "d00.general"'
task='id: "t1" state: FOLLOW_UP_STATE_PENDING next_at_ms: 5000'
forward='contact_id: "c9" from_partition: 2 expires_at_ms: 9000'
meta='taken_at_ms: 2000 next_seq: 4 queue_stats {queue: "d00.general" arrived: 1} group_seq: 1'
output='output_id: "c1#1#1" shard: 0 epoch: 1 decision {type: DECISION_OFFER contact_id: "c1" agent_id: "a1" attempt: 1}'
# Header byte: bits 0-2 epoch, bit 3 replay, bits 4-5 kind (0 raw, 1 claim, 2 snapshot, 3 meta).
{ printf '\x00\x11n1%s\x01a/a1\x00' "$RS"; enc AgentRecord "$agent"
  printf '%s\x01c/c1\x00' "$RS"; enc ContactRecord "$contact"
  printf '%s\x01f/t1\x00' "$RS"; enc FollowUpTask "$task"
  printf '%s\x01x/c9\x00' "$RS"; enc ForwardSeen "$forward"
  printf '%s\x01i/a1\x00' "$RS"; enc AgentIdentity 'agent_id: "a1" held: true domain: "d00"'
  printf '%s\x31' "$RS"; enc ShardMeta "$meta outputs {$output}"; } | seed checkpoint_fuzz group
{ printf '\x00\x11n1%s\x01c/c1\x00' "$RS"; enc ContactRecord "$contact"
  printf '%s\x12n2%s\x01c/c2\x00zombie%s\x39' "$RS" "$RS" "$RS"; enc ShardMeta "$meta"
  printf '%s\x32' "$RS"; enc ShardMeta "$meta outputs_acked_through: 7"
  printf '%s\x02c/c1%s\x07meta\x00' "$RS" "$RS"; } | seed checkpoint_fuzz epochs
{ printf '\x00\x21'
  enc ShardSnapshot "meta {$meta} engine {agents {$agent} contacts {$contact}}
    followups {$task} forwards {seen {$forward}} unacked_outputs {$output} slot: 1"
  printf '%s\x01s/0/000001\x00' "$RS"; enc SnapshotChunk 'snapshot_id: 9 index: 1 count: 2 data: "x"'
  printf '%s\x01s/0/000000\x00' "$RS"; enc SnapshotChunk 'snapshot_id: 9 index: 0 count: 2 data: "\x0a"'
  printf '%s\x01s/0/000001\x00' "$RS"; enc SnapshotChunk 'snapshot_id: 9 index: 1 count: 2 data: "\x01"'
} | seed checkpoint_fuzz snapshots
# Fields: position (8 bytes), epoch, ShardMeta, ForwardsSeen, engine header, agents and contacts.
checkpoint() {
  printf '%b%s%s%s' "$1" "$US" "$2" "$US"; enc ShardMeta "$meta"; printf '%s' "$US"
  enc ForwardsSeen "seen {$forward}"; printf '%s' "$US"
  enc EngineState 'next_seq: 4 identities {agent_id: "a1" held: true}'; printf '%s' "$US"
  enc EngineState "agents {$agent} contacts {$contact}"
}
{ printf '\x01'; checkpoint '\x00\x00\x00\x00\x00\x00\x00\x05' 3; } | seed checkpoint_fuzz stored
{ printf '\x03'; checkpoint '\x00\x00\x00\x00\x00\x00\x00\x05' 3; } | seed checkpoint_fuzz log_moved_on
{ printf '\x01'; checkpoint '\x00\x00\x00\x00\x00\x00\x00\x05' 3x; } | seed checkpoint_fuzz bad_epoch
{ printf '\x01'; checkpoint '\x05' 3; } | seed checkpoint_fuzz short_position

# ---- gateway_records_fuzz: sb.assignments (header bit 0 clear) and sb.contacts (set) ----
arrival() { printf '\x01'; enc RoutingEvent "at_ms: 1000 contact_arrived {contact {id: \"$1\"
  queue: \"d00.general\" attributes {key: \"sb.submitted_by\" value: \"$2\"}}}"; }
decision() { printf '\x00'; enc ShardOutput "output_id: \"$1\" shard: $2 decision {$3}"; }
{ arrival c1 integrator-a; printf '%s' "$RS"
  decision c1#1#1 0 'type: DECISION_OFFER contact_id: "c1" agent_id: "a1" attempt: 1 at_ms: 2000'
  printf '%s' "$RS"
  decision c1#1#7 0 'type: DECISION_CONNECTED contact_id: "c1" agent_id: "a1" attempt: 1 at_ms: 3000'
  printf '%s' "$RS"; decision c1#1#7 0 'type: DECISION_CONNECTED contact_id: "c1" agent_id: "a1"'
  printf '%s\x03' "$RS"; enc RoutingEvent 'at_ms: 4000 contact_ended {contact_id: "c1"}'
} | seed gateway_records_fuzz offer_connect_end
{ arrival c2 integrator-b; printf '%s' "$RS"
  decision c2#1#8 1 'type: DECISION_TRANSFERRED contact_id: "c2" agent_id: "a2" queue: "d01.general"
    input_topic: "sb.contacts" input_offset: 7'
  printf '%s' "$RS"
  decision '' 1 'type: DECISION_REFUSED contact_id: "c2" agent_id: "a2" refusal_code: "NOT_FOUND"
    refused_event: "contact_transferred" input_topic: "sb.agent-events" input_offset: 8'
  printf '%s\x01' "$RS"; enc RoutingEvent 'contact_cancelled {contact_id: "c2"}'; } |
  seed gateway_records_fuzz transfer_answers
{ decision '' 0 'type: DECISION_REFUSED agent_id: "a1" session: "n1-s1" refusal_code: "ALREADY_EXISTS"
    refused_event: "agent_login" detail: "held elsewhere"'
  printf '%s' "$RS"
  decision a1#move 1 'type: DECISION_AGENT_STATE reason: REASON_SESSION_MOVED agent_id: "a2"
    session: "n2-s9" generation: 2 input_offset: 9'
  printf '%s' "$RS"; decision c3#1#1 1 'type: DECISION_OFFER contact_id: "c3" agent_id: "a2"'
  printf '%s' "$RS"; decision c4#1#6 0 'type: DECISION_WITHDRAW contact_id: "c4"
    reason: REASON_CUSTOMER_LEFT'
} | seed gateway_records_fuzz desks
# An end time at the int64 limit, then a prune (header bit 1); a decision of no known type.
{ printf '\x02'; enc ShardOutput 'decision {type: DECISION_EXPIRE contact_id: "c8"
    at_ms: 9223372036854775807}'
  printf '%s' "$RS"; decision c9#1#0 0 'type: DECISION_TYPE_UNSPECIFIED contact_id: "c9" queue: "q"'
} | seed gateway_records_fuzz far_end

# ---- http_fuzz: 0 wallboard, 1 /metrics, 2 a string inlined into the wallboard page ----
crlf() { printf '%s' "${1//|/$'\r\n'}"; }
{ printf '\x00'; crlf 'GET /wallboard HTTP/1.1|Host: localhost||'; } | seed http_fuzz page
{ printf '\x00'; crlf 'GET /wallboard/data?x=1 HTTP/1.1|Host: localhost||GET /nope HTTP/1.1||'; } |
  seed http_fuzz pipelined
{ printf '\x00'; crlf 'GET /wallboard/events HTTP/1.1|Host: localhost|Accept: text/event-stream||'; } |
  seed http_fuzz events
{ printf '\x00'; crlf 'POST /wallboard HTTP/1.1|Content-Length: 5||hello'; } | seed http_fuzz post
{ printf '\x00'; crlf 'GET http://x/wallboard HTTP/1.0|Transfer-Encoding: chunked||5|hello|0||'; } |
  seed http_fuzz absolute_chunked
{ printf '\x01'; crlf 'GET /metrics HTTP/1.1|Host: localhost|Connection: close||'; } |
  seed http_fuzz metrics
{ printf '\x01'; crlf 'GET /../metrics?%%00 HTTP/1.1|Range: bytes=5-1||'; } | seed http_fuzz metrics_bad
printf '\x02d00.general</script><!--<script>"\\\xc3\x28' | seed http_fuzz inlined
echo "seeds written under tests/fuzz/$CORPUS/"
