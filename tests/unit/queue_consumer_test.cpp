// The one consumer mechanism (actors/consumer): a batch is settled with one ack and one nack
// message once every delivery has its outcome, whatever order the outcomes come in; a delivery
// left alone is neither; an empty receive polls again, a failed one pauses on the clock.
#include "consumer/queue_consumer.hpp"
#include "eventually.hpp"
#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace mailroom;

namespace {

using done_atom = caf::atom_constant<caf::atom("done")>;

/// A queue that hands out `batches` in turn (then nothing, or an error once they run out when
/// `fail_after`) and reports every ack and nack it gets to `observer`.
caf::behavior fake_queue(caf::event_based_actor* self, caf::actor observer,
                         std::vector<std::vector<std::string>> batches, bool fail_after) {
  auto next = std::make_shared<size_t>(0);
  return {
      [=](receive_atom, const receive_request&) -> caf::result<std::vector<delivery>> {
        if (*next == batches.size()) {
          self->send(observer, done_atom::value, *next);
          if (fail_after)
            return make_error(errc::unknown_queue, "no queue named 'q'");
          return std::vector<delivery>{};
        }
        std::vector<delivery> out;
        for (const auto& r : batches[(*next)++])
          out.push_back({std::make_shared<const envelope>(), r, 1});
        return out;
      },
      [=](ack_atom, std::vector<std::string>& receipts) {
        self->send(observer, ack_atom::value, receipts);
        return std::vector<ack_outcome>{};
      },
      [=](nack_atom, std::vector<nack_request>& requests) {
        self->send(observer, nack_atom::value, requests);
        return std::vector<ack_outcome>{};
      },
  };
}

/// Acks receipts starting with "a", nacks those with "n", leaves the rest; polls again once the
/// batch is settled.
caf::behavior test_consumer(caf::event_based_actor* self, consumer::source from) {
  return consumer::consume(self, from, [self, from](std::vector<delivery>& batch) {
    auto settle =
        consumer::settle_batch(self, from.queue, batch.size(), consumer::poll_again(self));
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) { // outcomes out of order
      if (it->receipt[0] == 'a')
        settle->ack(it->receipt);
      else if (it->receipt[0] == 'n')
        settle->nack({it->receipt, -1, {}, "failed"});
      else
        settle->leave();
    }
  });
}

TEST(queue_consumer, settles_each_batch_with_one_ack_and_one_nack_then_polls_again) {
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  caf::scoped_actor observer{system};
  auto clock = std::make_shared<virtual_clock>(0);
  auto queue =
      system.spawn(fake_queue, caf::actor{observer},
                   std::vector<std::vector<std::string>>{{"a1", "n1", "x1", "a2"}, {"n2"}}, false);
  auto consumer_actor = system.spawn(test_consumer, consumer::source{"test", queue, 10, -1, clock});
  std::vector<std::string> acked;
  std::vector<std::string> nacked;
  int ack_messages = 0, nack_messages = 0;
  bool drained = false;
  while (!drained)
    observer->receive(
        [&](ack_atom, const std::vector<std::string>& receipts) {
          ++ack_messages;
          acked.insert(acked.end(), receipts.begin(), receipts.end());
        },
        [&](nack_atom, const std::vector<nack_request>& requests) {
          ++nack_messages;
          for (const auto& r : requests)
            nacked.push_back(r.receipt);
        },
        [&](done_atom, size_t) { drained = true; });
  EXPECT_EQ(ack_messages, 1);  // the first batch's two acks in one message
  EXPECT_EQ(nack_messages, 2); // one per batch
  EXPECT_EQ(acked, (std::vector<std::string>{"a2", "a1"}));
  EXPECT_EQ(nacked, (std::vector<std::string>{"n1", "n2"}));
  caf::anon_send_exit(consumer_actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(queue, caf::exit_reason::user_shutdown);
}

TEST(queue_consumer, a_failed_receive_pauses_on_the_clock_before_polling_again) {
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  caf::scoped_actor observer{system};
  auto clock = std::make_shared<virtual_clock>(0);
  auto queue =
      system.spawn(fake_queue, caf::actor{observer}, std::vector<std::vector<std::string>>{}, true);
  auto consumer_actor = system.spawn(test_consumer, consumer::source{"test", queue, 10, -1, clock});
  observer->receive([](done_atom, size_t) {});
  // The retry waits for the clock: its timer is set, and nothing polls until the clock moves.
  ASSERT_TRUE(mailroom::test::eventually([&] { return clock->pending() == 1; }));
  bool polled_early = false;
  observer->receive([&](done_atom, size_t) { polled_early = true; },
                    caf::after(std::chrono::milliseconds(0)) >> [] {});
  EXPECT_FALSE(polled_early);
  clock->advance(consumer::error_pause_ms);
  observer->receive([](done_atom, size_t) {});
  caf::anon_send_exit(consumer_actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(queue, caf::exit_reason::user_shutdown);
}

} // namespace
