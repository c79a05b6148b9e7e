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
}

struct Segment {
  # One send batch into a queue: messages with consecutive sequence numbers firstSeq, firstSeq+1…
  # Immutable once written; deleted when every message in it is removed.
  messages @0 :List(Envelope);
}

struct MessageEvent {
  # A change to one message of a segment, appended in order; replay applies them in row order.
  seq @0 :UInt64;
  union {
    state @1 :MessageState;   # leased, released, or retried later
    removed @2 :Void;         # acked, purged, expired or moved to a sink
  }
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
