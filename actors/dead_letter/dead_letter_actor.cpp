#include "dead_letter/dead_letter_actor.hpp"

#include "journal_writer.hpp"
#include "staging.hpp"
#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

namespace mailroom::detail {

/// A redrive in progress; shared by the continuations of its chunks.
struct redrive_job {
  redrive_request request;
  caf::typed_response_promise<redrive_result> promise;
  redrive_result result;
};

} // namespace mailroom::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<mailroom::detail::redrive_job>)

namespace mailroom {

namespace {

using detail::redrive_job;

/// Most records one list call returns.
constexpr uint32_t max_list = 10'000;
/// Records moved per step of an unlimited redrive.
constexpr size_t unlimited_chunk = 1'000;

struct sink_state {
  std::unique_ptr<dead_letter_state> sink;
  std::unique_ptr<journal_writer> writer;
  dead_letter_actor_deps deps;
  static inline const char* name = "dead_letter_sink";
};

using self_ptr = caf::stateful_actor<sink_state>*;

void redrive_step(self_ptr self, std::shared_ptr<redrive_job> job);

/// Sends one chunk to its target queues; continues with the next chunk when all are durable.
void redrive_chunk(self_ptr self, std::shared_ptr<redrive_job> job,
                   std::vector<dead_letter> chunk) {
  auto& st = self->state;
  std::map<std::string, std::vector<envelope>> by_target;
  for (auto& d : chunk) {
    auto target = job->request.to.empty() ? d.death.source : job->request.to;
    d.message.history.push_back(d.death);
    by_target[target].push_back(std::move(d.message));
  }
  auto outstanding = std::make_shared<size_t>(by_target.size());
  auto failed = std::make_shared<caf::error>();
  for (auto& [target, batch] : by_target) {
    auto queue = st.deps.entities->find(entity_kind::queue, target);
    if (!queue) {
      job->promise.deliver(
          make_error(errc::unknown_queue,
                     "redrive from '" + st.sink->name() + "': no queue named '" + target + "'"));
      return;
    }
    self->request(*queue, caf::infinite, redrive_atom::value, std::move(batch))
        .then(
            [self, job, outstanding, failed](std::vector<std::string>& ids) {
              // Durable in the target: now remove them here.
              self->state.writer->commit(self->state.sink->remove(ids), [](const caf::error&) {});
              job->result.moved += ids.size();
              job->result.ids.insert(job->result.ids.end(), ids.begin(), ids.end());
              if (--*outstanding == 0) {
                if (*failed)
                  job->promise.deliver(*failed);
                else
                  redrive_step(self, job);
              }
            },
            [self, job, outstanding, failed](caf::error& err) {
              *failed = err;
              if (--*outstanding == 0)
                job->promise.deliver(*failed);
            });
  }
}

void redrive_step(self_ptr self, std::shared_ptr<redrive_job> job) {
  auto& st = self->state;
  auto chunk_size = job->request.rate_per_s > 0 ? job->request.rate_per_s : unlimited_chunk;
  auto chunk = st.sink->select(job->request.filter, chunk_size);
  if (chunk.empty()) {
    job->promise.deliver(std::move(job->result));
    return;
  }
  if (job->request.rate_per_s == 0 || job->result.moved == 0) {
    redrive_chunk(self, job, std::move(chunk));
    return;
  }
  // Rate limited: one chunk per second.
  st.deps.clock->send_after(1'000, caf::actor_cast<caf::actor>(self), redrive_atom::value,
                            std::move(job));
}

caf::behavior sink_actor(caf::stateful_actor<sink_state>* self, dead_letter_state state,
                         dead_letter_actor_deps deps) {
  auto& st = self->state;
  st.sink = std::make_unique<dead_letter_state>(std::move(state));
  st.writer = std::make_unique<journal_writer>(*deps.log, self->address());
  st.deps = std::move(deps);
  return {
      [self](dead_atom, std::vector<dead_letter>& records) -> caf::result<ok_atom> {
        auto promise = self->make_response_promise<ok_atom>();
        auto n = records.size();
        self->state.writer->commit(self->state.sink->accept(std::move(records)),
                                   [self, promise, n](const caf::error& err) mutable {
                                     if (err) {
                                       promise.deliver(err);
                                       return;
                                     }
                                     spdlog::info("dead-letter sink '{}': {} message(s) arrived",
                                                  self->state.sink->name(), n);
                                     promise.deliver(ok_atom::value);
                                   });
        return promise;
      },
      [self](adopt_atom, std::vector<dead_letter>& records) {
        spdlog::info("dead-letter sink '{}': {} message(s) arrived", self->state.sink->name(),
                     records.size());
        for (auto& r : records)
          self->state.sink->restore(std::move(r));
      },
      [self](list_atom, uint32_t max) -> std::vector<dead_letter> {
        return self->state.sink->list(std::min(max, max_list));
      },
      [self](stats_atom) -> uint64_t { return self->state.sink->size(); },
      [self](redrive_atom, redrive_request& request) -> caf::result<redrive_result> {
        if (request.dry_run) {
          redrive_result result;
          for (auto& d : self->state.sink->select(request.filter, SIZE_MAX)) {
            result.ids.push_back(d.message.id);
            ++result.moved;
          }
          return result;
        }
        auto job = std::make_shared<redrive_job>();
        job->request = std::move(request);
        job->promise = self->make_response_promise<redrive_result>();
        redrive_step(self, job);
        return job->promise;
      },
      [self](redrive_atom, std::shared_ptr<redrive_job>& job) {
        auto chunk_size = job->request.rate_per_s;
        auto chunk = self->state.sink->select(job->request.filter, chunk_size);
        if (chunk.empty())
          job->promise.deliver(std::move(job->result));
        else
          redrive_chunk(self, job, std::move(chunk));
      },
      [self](purge_atom) -> caf::result<uint64_t> {
        auto [purged, writes] = self->state.sink->purge();
        auto promise = self->make_response_promise<uint64_t>();
        self->state.writer->reply_after_commit(std::move(writes), promise, purged);
        return promise;
      },
      [self](committed_atom, uint64_t ticket, const caf::error& err) {
        self->state.writer->committed(ticket, err);
      },
  };
}

} // namespace

caf::actor spawn_dead_letter_sink(caf::actor_system& system, dead_letter_state state,
                                  dead_letter_actor_deps deps) {
  return system.spawn(sink_actor, std::move(state), std::move(deps));
}

} // namespace mailroom
