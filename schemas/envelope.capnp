@0xa6e252ef7058d57b;
# The one message envelope, used on the wire (client endpoint, later node links) and in the
# journal. A message keeps the same envelope from send through retries, dead-lettering and
# redrive; only the delivery bookkeeping (receiveCount) and the history change.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mailroom::schema");

struct Attribute {
  # One user attribute (SQS and SNS MessageAttributes), kept byte for byte.
  key @0 :Text;
  value @1 :Text;           # text, or raw bytes for a Binary type
  dataType @2 :Text;        # String (empty), Number, Binary, or one with a custom suffix
                            # ("Number.int"); records written before it have none: String
}

struct DeathRecord {
  # Why and when a message was dead-lettered. Kept in the envelope's history after redrive.
  reason @0 :Text;          # max_receives | rejected | expired | too_large | unroutable
  error @1 :Text;           # last error text the consumer gave (may be empty)
  source @2 :Text;          # queue the message died in
  receiveCount @3 :UInt32;  # deliveries before it died
  firstFailureMs @4 :Int64; # unix ms of the first failed delivery (0 when none)
  lastFailureMs @5 :Int64;  # unix ms of the last failed delivery (0 when none)
  deadAtMs @6 :Int64;       # unix ms it entered the dead-letter sink
}

struct Envelope {
  id @0 :Text;              # message id, unique, kept through retries and redrive
  queue @1 :Text;           # queue it was sent to (or redriven into)
  body @2 :Data;            # opaque payload
  attributes @3 :List(Attribute);
  dedupId @4 :Text;         # producer idempotency key; empty when none
  causationId @5 :Text;     # id of the message whose handling produced this one; empty when none
  correlationId @6 :Text;   # request, fan-out or saga this message belongs to; empty when none
  sentAtUs @7 :Int64;       # producer's unix µs at send (latency measurement)
  enqueuedAtMs @8 :Int64;   # unix ms the queue accepted it (retention counts from here)
  receiveCount @9 :UInt32;  # deliveries so far in the current queue
  history @10 :List(DeathRecord); # earlier deaths, oldest first, kept across redrive
  groupId @11 :Text;        # FIFO message group; empty on standard queues
}
