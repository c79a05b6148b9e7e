@0x8943b02e715bb2cf;
# Journal records: the blobs the SQLite journal stores. The byte-level layout of the tables that
# hold them is in docs/journal-format.md.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mailroom::schema");

using import "envelope.capnp".Envelope;
using import "envelope.capnp".DeathRecord;

struct RetryPolicy {
  baseMs @0 :Int64 = 1000;    # first retry delay
  factor @1 :Float64 = 2.0;   # growth per further failure
  capMs @2 :Int64 = 300000;   # no delay grows beyond this
}

struct QueueConfig {
  # Stored in catalog rows of kind 'queue'. Zero means "use the default" for durations so
  # that older records keep working when defaults change.
  name @0 :Text;
  visibilityTimeoutMs @1 :Int64;
  delayMs @2 :Int64;
  retentionMs @3 :Int64;
  maxMessageBytes @4 :UInt32;
  maxReceiveCount @5 :UInt32;   # 0: never dead-letter for receives
  deadLetterTarget @6 :Text;    # sink name; empty: none
  retry @7 :RetryPolicy;
  maxDepth @8 :UInt64;          # messages held at most; 0: no limit
  dedupWindowMs @9 :Int64;      # how long a dedup key suppresses re-sends; 0: 5 minutes
  contentBasedDedup @10 :Bool;  # true: a message without a dedup id is keyed by SHA-256(body)
  fifo @11 :Bool;               # true: message groups, strict order, one in flight per group
  receiveWaitMs @12 :Int64;     # long poll of a receive that names none (SQS
                                # ReceiveMessageWaitTimeSeconds); 0: none
  deadLetterQueue @13 :Text;    # queue dead messages go to instead of a sink; empty: none
  tags @14 :List(Tag);          # the operator's labels (SQS queue tags)
}

struct Tag {
  key @0 :Text;
  value @1 :Text;
}

struct Segment {
  # One send batch into a queue: messages with consecutive sequence numbers firstSeq, firstSeq+1…
  # Immutable once written; deleted when every message in it is removed.
  messages @0 :List(Envelope);
  shared @1 :List(UInt32);
  # Copies of a topic's publish (the row's `publication` names it): messages[i] holds only what
  # is this queue's own (id, queue, groupId, enqueuedAtMs, receiveCount, history), and the rest
  # (body, attributes, dedupId, causationId, correlationId, sentAtUs) is message shared[i] of
  # the Publication. Empty for any other segment, whose envelopes are whole.
}

struct Publication {
  # What the copies of one publish share, stored once for every subscriber queue (a row of
  # `publications`, deleted with the last segment that names it). Each envelope carries only
  # body, attributes, dedupId, causationId, correlationId and sentAtUs. A raw and an enveloped
  # (SNS notification) body are two publications.
  messages @0 :List(Envelope);
}

struct MessageEvent {
  # A change to one message of a segment, appended in order; replay applies them in row order.
  seq @0 :UInt64;
  union {
    state @1 :MessageState;   # leased, released, or retried later
    removed @2 :Void;         # acked, purged, expired or moved to a sink
  }
  count @3 :UInt32;           # the same change to messages seq .. seq+count-1 (a batch leased
                              # or settled together); 0 and 1: message seq alone
}

struct MessageState {
  receiveCount @0 :UInt32;
  visibleAtMs @1 :Int64;      # unix ms the message becomes receivable (lease end when inFlight)
  inFlight @2 :Bool;          # true: leased to a consumer until visibleAtMs
  firstFailureMs @3 :Int64;
  lastFailureMs @4 :Int64;
  lastError @5 :Text;
}

struct SegmentEvents {
  events @0 :List(MessageEvent);
}

struct DeadLetter {
  # Stored in dead_letters rows: the message as it died, and why.
  envelope @0 :Envelope;
  death @1 :DeathRecord;
}

struct Subscription {
  # One queue subscribed to a topic; the queue names it (one subscription per queue).
  queue @0 :Text;
  filterPolicy @1 :Text;      # SNS filter policy JSON; empty: every message
  filterOnBody @2 :Bool;      # true: the policy matches JSON body fields, not attributes
  raw @3 :Bool;               # true: the body as published; false: SNS notification JSON
  deadLetterTarget @4 :Text;  # sink for copies that cannot be enqueued; empty: fail the publish
  deadLetterQueue @5 :Text;   # or a queue for them (SNS RedrivePolicy)
}

struct TopicConfig {
  # Stored in catalog rows of kind 'topic'; rewritten whole on every (un)subscribe.
  name @0 :Text;
  subscriptions @1 :List(Subscription);
  displayName @2 :Text;     # SNS DisplayName; empty: none
}

struct DedupRecords {
  # Stored in dedup rows, one per send batch that carried dedup keys: a re-send with one of these
  # keys before expiresAtMs is accepted but not enqueued, and answered with the original id.
  # Independent of the messages' segments: the key outlives an ack, a dead-lettering or a redrive.
  expiresAtMs @0 :Int64;
  entries @1 :List(DedupEntry);
}

struct DedupEntry {
  key @0 :Text;   # the producer's dedup id, or "sha256:" and the hex digest of the body
  id @1 :Text;    # the message id the key was first sent as
}

struct RouteRule {
  match @0 :Text;       # SNS filter policy JSON deciding the rule
  matchBody @1 :Bool;   # true: the policy matches JSON body fields, not attributes
  to @2 :Text;          # "queue:NAME", "topic:NAME" or "router:NAME"
}

struct RouterConfig {
  # Stored in catalog rows of kind 'router'.
  name @0 :Text;
  rules @1 :List(RouteRule);    # in order
  allMatch @2 :Bool;            # false: the first matching rule; true: every matching rule
  fallback @3 :Text;            # target of messages no rule takes; empty: the dead-letter sink
  deadLetterTarget @4 :Text;    # sink for unroutable messages; empty: "<name>-unroutable"
}

struct AlarmConfig {
  # Stored in catalog rows of kind 'alarm'.
  name @0 :Text;
  entity @1 :Text;          # "queue:NAME" or "sink:NAME"
  metric @2 :Text;          # queue: visible | in_flight | delayed | oldest_age_ms | sent | received
                            # | acked | dead_lettered[_per_minute]; sink: depth
  threshold @3 :Float64;    # fires while the metric is above it (below: `below`) ...
  forMs @4 :Int64;          # ... for this long; resolves after as long at or below it
  topic @5 :Text;           # where alerts and resolves are published
  checkEveryMs @6 :Int64;   # how often the metric is read
  cloudwatch @7 :Text;      # the CloudWatch PutMetricAlarm it came from (JSON); empty: none
  below @8 :Bool;           # fires while the metric is below the threshold instead
  windowMs @9 :Int64;       # counters: their increase over this window; 0: one minute
  okTopic @10 :Text;        # CloudWatch alarms: where OK transitions go (OKActions)
}

struct TraceEvent {
  # One step in a message's story, for `mailroom trace`.
  id @0 :Text;              # the message
  queue @1 :Text;           # where it happened
  kind @2 :Text;            # sent | redriven | delivered | acked | retried | dead_lettered
  atMs @3 :Int64;           # unix ms
  receiveCount @4 :UInt32;
  detail @5 :Text;          # retried: the error and the retry time; dead_lettered: reason, sink
  causationId @6 :Text;     # sent/redriven: the message whose handling produced this one
  correlationId @7 :Text;   # sent/redriven: the fan-out, request or saga it belongs to
  seq @8 :UInt64;           # journal only: the message's place in `queue` (0: none). A queue's
                            # steps after sent/redriven leave `id` empty and name it by this.
  count @9 :UInt32;         # the same step for seq, seq+1, ... seq+count-1 (0 or 1: just seq)
  moreIds @10 :List(Text);  # a range of sent/redriven steps: the ids of seq+1, ... (id: seq's)
}

struct TraceEvents {
  # Stored in trace rows: the events of one journal batch of one queue, in order.
  events @0 :List(TraceEvent);
  queue @1 :Text;           # the queue of every event whose own `queue` is empty
}

struct SagaRetry {
  maxAttempts @0 :UInt32;
  baseMs @1 :Int64;
  factor @2 :Float64;
  capMs @3 :Int64;
}

struct SagaStep {
  name @0 :Text;
  queue @1 :Text;               # where the command goes
  command @2 :Text;             # body template over the saga data
  compensation @3 :Text;        # body template; empty: nothing to undo
  compensationQueue @4 :Text;   # empty: queue
  timeoutMs @5 :Int64;
  retry @6 :SagaRetry;
  compensationRetry @7 :SagaRetry;
}

struct SagaDefinition {
  # Stored in catalog rows of kind 'saga', keyed "NAME@VERSION": every version stays, so an
  # instance can finish on the version it started with.
  name @0 :Text;
  version @1 :UInt32;
  steps @2 :List(SagaStep);
  alarmTopic @3 :Text;
}

struct SagaAttempt {
  number @0 :UInt32;
  sentAtMs @1 :Int64;
  endedAtMs @2 :Int64;          # 0: waiting for the reply
  outcome @3 :Text;             # "" | ok | failed | rejected | timed_out | abandoned
  error @4 :Text;
  commandId @5 :Text;
  replyId @6 :Text;
}

struct SagaActivity {
  step @0 :UInt32;
  compensation @1 :Bool;
  attempts @2 :List(SagaAttempt);
  retryAtMs @3 :Int64;
}

struct SagaInstance {
  # Stored in the sagas table, one row per instance, rewritten at every transition.
  id @0 :Text;
  definition @1 :Text;
  version @2 :UInt32;
  idempotencyKey @3 :Text;
  status @4 :UInt8;             # RUNNING, COMPLETED, COMPENSATING, COMPENSATED, PARKED
  data @5 :Text;                # JSON object
  completedSteps @6 :UInt32;
  cancelled @7 :Bool;
  error @8 :Text;
  startedAtMs @9 :Int64;
  updatedAtMs @10 :Int64;
  timeline @11 :List(SagaActivity);
  seq @12 :UInt64;              # start order on this node: the row key
}
