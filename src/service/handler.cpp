#include "service/handler.hpp"

#include <cstdio>
#include <cstdlib>

namespace sesame::service {

void HandlerTable::add(Api api, const std::string& operation, Handler handler) {
  auto& t = table(api);
  if (!t.emplace(operation, std::move(handler)).second) {
    std::fprintf(stderr, "sesame: handler for %s registered twice\n", operation.c_str());
    std::abort();
  }
}

const Handler* HandlerTable::find(Api api, std::string_view operation) const {
  const auto& t = table(api);
  auto it = t.find(std::string(operation));
  return it == t.end() ? nullptr : &it->second;
}

}  // namespace sesame::service
