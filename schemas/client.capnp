@0xed341f69b92e8474;
# The client endpoint: what the CLI and remote clients call on a node. Every method answers with
# a Status; an empty code means success, otherwise code names the error class (see
# runtime/include/mailroom/error.hpp) and message says what was wrong, naming the input.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mailroom::schema");

using import "envelope.capnp".Attribute;
using import "envelope.capnp".Envelope;
using import "journal.capnp".AlarmConfig;
using import "journal.capnp".QueueConfig;
using import "journal.capnp".RouterConfig;
using import "journal.capnp".DeadLetter;
using import "journal.capnp".SagaDefinition;
using import "journal.capnp".SagaInstance;
using import "journal.capnp".Subscription;
using import "journal.capnp".TopicConfig;
using import "journal.capnp".TraceEvent;

struct TraceStory {
  # One message's steps, oldest first.
  steps @0 :List(TraceEvent);
}

struct Status {
  code @0 :Text;     # empty: ok; else e.g. "unknown_queue", "not_found", "invalid_argument"
  message @1 :Text;  # human-readable reason naming the input
}

struct OutgoingMessage {
  body @0 :Data;
  attributes @1 :List(Attribute);
  delayMs @2 :Int64 = -1;   # -1: the queue's default delay
  dedupId @3 :Text;
  causationId @4 :Text;
  correlationId @5 :Text;
  sentAtUs @6 :Int64;       # producer clock, for end-to-end latency
  groupId @7 :Text;         # FIFO queues: the message group (required there)
  subject @8 :Text;         # topics: the SNS Subject of enveloped notifications
}

struct Delivery {
  # One message handed to a consumer under a lease: the stored envelope, as in the journal,
  # plus what belongs to this delivery only.
  receipt @0 :Text;         # opaque; valid for this delivery's lease only
  receiveCount @1 :UInt32;  # deliveries so far, this one included
  envelope @2 :Envelope;
}

struct QueueStats {
  name @0 :Text;
  visible @1 :UInt64;
  inFlight @2 :UInt64;
  delayed @3 :UInt64;
  oldestAgeMs @4 :Int64;
  sent @5 :UInt64;
  received @6 :UInt64;
  acked @7 :UInt64;
  deadLettered @8 :UInt64;
}

struct RedriveFilter {
  # Every non-empty field must match.
  reason @0 :Text;
  source @1 :Text;
  attributeKey @2 :Text;
  attributeValue @3 :Text;
  errorContains @4 :Text;
}

struct TopicStats {
  # Counters since the node started.
  name @0 :Text;
  subscriptions @1 :UInt64;
  published @2 :UInt64;
  deliveries @3 :UInt64;     # copies enqueued into subscriber queues
  unmatched @4 :UInt64;      # messages no subscription's filter took
  deadLettered @5 :UInt64;   # copies sent to a subscription's sink instead
}

struct AlarmState {
  name @0 :Text;
  firing @1 :Bool;
  value @2 :Float64;   # the metric as last read
  sinceMs @3 :Int64;   # when the current state began (0: never read)
}

struct NackRequest {
  receipt @0 :Text;
  retryAfterMs @1 :Int64 = -1;  # -1: the queue's backoff policy
  deadLetterReason @2 :Text;    # non-empty: straight to the sink
  error @3 :Text;               # the consumer's error text, kept for the death record
}

struct AckResult {
  receipt @0 :Text;
  status @1 :Status;
}

struct SagaSummary {
  id @0 :Text;
  definition @1 :Text;
  version @2 :UInt32;
  status @3 :Text;          # RUNNING | COMPLETED | COMPENSATING | COMPENSATED | PARKED
  startedAtMs @4 :Int64;
  updatedAtMs @5 :Int64;
  currentStep @6 :Text;     # empty when finished
}

struct SagaStats {
  # Instances by state now (in memory), counters since the node started.
  running @0 :UInt64;
  compensating @1 :UInt64;
  parked @2 :UInt64;
  started @3 :UInt64;
  completed @4 :UInt64;
  compensated @5 :UInt64;
  compensationsSent @6 :UInt64;
  stepReplies @7 :UInt64;
  stepLatencyP50Ms @8 :Float64;
  stepLatencyP99Ms @9 :Float64;
}

interface Node {
  createQueue @0 (config :QueueConfig) -> (status :Status);
  listQueues @1 () -> (status :Status, names :List(Text));
  queueStats @2 (queue :Text) -> (status :Status, stats :QueueStats);
  send @3 (queue :Text, messages :List(OutgoingMessage), each :Bool)
      -> (status :Status, ids :List(Text), refusals :List(Status));
  # each false: all or none (status says why none). each true: every message on its own (SQS
  # SendMessageBatch): ids and refusals run parallel to messages; a refused message has an empty
  # id and a refusal with a code; an accepted one an empty refusal code. A full queue takes the
  # first messages that fit.
  receive @4 (queue :Text, max :UInt32, waitMs :Int64, visibilityMs :Int64)
      -> (status :Status, messages :List(Delivery));
  # visibilityMs -1: the queue's visibility timeout.
  ack @5 (queue :Text, receipts :List(Text)) -> (status :Status, results :List(AckResult));
  nack @6 (queue :Text, requests :List(NackRequest)) -> (status :Status, results :List(AckResult));
  changeVisibility @7 (queue :Text, receipt :Text, visibilityMs :Int64) -> (status :Status);
  purgeQueue @8 (queue :Text) -> (status :Status, purged :UInt64);
  deadLetters @9 (sink :Text, max :UInt32) -> (status :Status, records :List(DeadLetter));
  redrive @10 (sink :Text, filter :RedriveFilter, to :Text, ratePerSecond :UInt32, dryRun :Bool)
      -> (status :Status, moved :UInt64, ids :List(Text));
  purgeDeadLetters @11 (sink :Text) -> (status :Status, purged :UInt64);
  deleteQueue @12 (queue :Text) -> (status :Status);

  createTopic @13 (config :TopicConfig) -> (status :Status);
  # With its subscriptions; the same configuration again succeeds, another is already_exists.
  deleteTopic @14 (name :Text) -> (status :Status);
  listTopics @15 () -> (status :Status, names :List(Text));
  describeTopic @16 (name :Text) -> (status :Status, config :TopicConfig, stats :TopicStats);
  subscribe @17 (topic :Text, subscription :Subscription) -> (status :Status);
  # The subscribed queue must exist; a named dead-letter sink is created.
  unsubscribe @18 (topic :Text, queue :Text) -> (status :Status);
  publish @19 (topic :Text, messages :List(OutgoingMessage))
      -> (status :Status, ids :List(Text), deliveries :UInt64, unmatched :UInt64,
          deadLettered :UInt64);
  # Answers once every copy is durable in every matching subscriber queue, or none is.

  trace @20 (id :Text, depth :UInt32) -> (status :Status, stories :List(TraceStory));
  # The message's story first, then those of the messages it caused, up to depth generations.

  startSaga @21 (definition :Text, data :Text, idempotencyKey :Text) -> (status :Status, id :Text);
  # Answers once the instance is journaled; the same idempotency key gives the same id.
  cancelSaga @22 (id :Text) -> (status :Status);
  listSagas @23 (status :Text, definition :Text, max :UInt32)
      -> (status :Status, sagas :List(SagaSummary));
  # status, definition: empty for any. Newest update first.
  showSaga @24 (id :Text) -> (status :Status, instance :SagaInstance);
  sagaStats @25 (definition :Text) -> (status :Status, stats :SagaStats);
  # definition: empty for all.
  sagaDefinition @26 (name :Text, version :UInt32) -> (status :Status, definition :SagaDefinition);
  # A stored version of a definition (what names an instance's steps).

  route @27 (router :Text, messages :List(OutgoingMessage))
      -> (status :Status, routed :UInt64, unroutable :UInt64, copies :UInt64);
  # Answers once every target (and the sink, for unroutable messages) confirmed.

  putRouter @28 (config :RouterConfig) -> (status :Status);
  # Creates or replaces; its targets must exist, its sink for unroutable messages is created.
  deleteRouter @29 (name :Text) -> (status :Status);
  listRouters @30 () -> (status :Status, names :List(Text));
  showRouter @31 (name :Text) -> (status :Status, config :RouterConfig);
  putAlarm @32 (config :AlarmConfig) -> (status :Status);
  # Creates or replaces; its topic must exist, the watched entity may come later.
  deleteAlarm @33 (name :Text) -> (status :Status);
  listAlarms @34 () -> (status :Status, names :List(Text));
  showAlarm @35 (name :Text) -> (status :Status, config :AlarmConfig, state :AlarmState);

  queueConfig @36 (queue :Text) -> (status :Status, config :QueueConfig);
  putQueue @37 (config :QueueConfig) -> (status :Status);
  # Creates or reconfigures (createQueue refuses another configuration of an existing queue).
}
