#include "router/router_state.hpp"

#include "mailroom/error.hpp"

#include <functional>
#include <set>

namespace mailroom {

caf::expected<router_state> router_state::make(router_config config) {
  if (auto err = validate(config))
    return err;
  std::vector<filter_policy> policies;
  for (const auto& r : config.rules)
    policies.push_back(*filter_policy::parse(r.match, r.match_body ? filter_scope::body
                                                                   : filter_scope::attributes));
  return router_state{std::move(config), std::move(policies)};
}

std::string router_state::dead_letter_target() const {
  return config_.dead_letter_target.empty() ? config_.name + "-unroutable"
                                            : config_.dead_letter_target;
}

router_state::plan router_state::route(std::vector<outgoing_message> messages) const {
  plan out;
  auto deliver = [&](const route_target& t, const outgoing_message& m) {
    auto& slot = out.by_target[t.to_string()];
    slot.first = t;
    slot.second.push_back(m);
    slot.second.back().id.clear(); // a copy (there may be several): its queue names it
    ++out.copies;
  };
  for (auto& m : messages) {
    filter_input input{m.attributes, m.body};
    bool matched = false;
    for (size_t i = 0; i < policies_.size(); ++i) {
      if (!policies_[i].matches(input))
        continue;
      matched = true;
      deliver(config_.rules[i].to, m);
      if (!config_.all_match)
        break;
    }
    if (!matched && config_.fallback) {
      matched = true;
      deliver(*config_.fallback, m);
    }
    if (matched)
      ++out.routed;
    else
      out.unroutable.push_back(std::move(m));
  }
  return out;
}

} // namespace mailroom
