#include "mailroom/router_types.hpp"

#include "filter_policy.hpp"
#include "mailroom/error.hpp"

#include <algorithm>
#include <functional>
#include <map>

namespace mailroom {

std::string route_target::to_string() const {
  switch (what) {
  case kind::queue:
    return "queue:" + name;
  case kind::topic:
    return "topic:" + name;
  case kind::router:
    return "router:" + name;
  }
  return name;
}

caf::expected<route_target> route_target::parse(const std::string& text) {
  auto colon = text.find(':');
  auto kind_text = text.substr(0, colon == std::string::npos ? 0 : colon);
  route_target t;
  if (kind_text == "queue")
    t.what = kind::queue;
  else if (kind_text == "topic")
    t.what = kind::topic;
  else if (kind_text == "router")
    t.what = kind::router;
  else
    return make_error(errc::invalid_argument,
                      "target '" + text + "' is not queue:NAME, topic:NAME or router:NAME");
  t.name = text.substr(colon + 1);
  if (auto err = validate_name(kind_text, t.name))
    return make_error(errc::invalid_argument, "target '" + text + "': " + message_of(err));
  return t;
}

caf::error validate(const router_config& c) {
  if (auto err = validate_name("router", c.name))
    return err;
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_argument, "router '" + c.name + "': " + why);
  };
  if (c.rules.empty() && !c.fallback)
    return bad("needs at least one rule or a default target");
  for (size_t i = 0; i < c.rules.size(); ++i) {
    const auto& r = c.rules[i];
    auto which = "rule " + std::to_string(i + 1) + ": ";
    if (auto err = validate_name("target", r.to.name))
      return bad(which + message_of(err));
    if (r.to.what == route_target::kind::router && r.to.name == c.name)
      return bad(which + "routes to the router itself");
    auto policy =
        filter_policy::parse(r.match, r.match_body ? filter_scope::body : filter_scope::attributes);
    if (!policy)
      return bad(which + message_of(policy.error()));
  }
  if (c.fallback && c.fallback->what == route_target::kind::router && c.fallback->name == c.name)
    return bad("the default target is the router itself");
  if (!c.dead_letter_target.empty())
    if (auto err = validate_name("dead-letter sink", c.dead_letter_target))
      return bad(message_of(err));
  return {};
}
caf::error check_for_loops(const std::vector<router_config>& routers) {
  std::map<std::string, const router_config*> by_name;
  for (const auto& r : routers)
    by_name[r.name] = &r;
  std::map<std::string, int> state; // 1: on the current path, 2: done
  std::vector<std::string> path;
  std::function<caf::error(const std::string&)> visit = [&](const std::string& name) -> caf::error {
    auto it = by_name.find(name);
    if (it == by_name.end() || state[name] == 2)
      return {};
    if (state[name] == 1) {
      std::string loop;
      for (auto p = std::find(path.begin(), path.end(), name); p != path.end(); ++p)
        loop += "router '" + *p + "' → ";
      return make_error(errc::invalid_argument,
                        "routers form a loop: " + loop + "router '" + name + "'");
    }
    state[name] = 1;
    path.push_back(name);
    auto targets = std::vector<route_target>{};
    for (const auto& rule : it->second->rules)
      targets.push_back(rule.to);
    if (it->second->fallback)
      targets.push_back(*it->second->fallback);
    for (const auto& t : targets)
      if (t.what == route_target::kind::router)
        if (auto err = visit(t.name))
          return err;
    path.pop_back();
    state[name] = 2;
    return {};
  };
  for (const auto& r : routers)
    if (auto err = visit(r.name))
      return err;
  return {};
}

} // namespace mailroom
