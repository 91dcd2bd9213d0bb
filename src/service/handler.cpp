#include "service/handler.hpp"

#include <cstdio>
#include <cstdlib>

namespace sesame::service {

void HandlerTable::add(Api api, const std::string& operation, Handler handler) {
  auto& table = api == Api::kV1 ? v1_ : v2_;
  if (!table.emplace(operation, std::move(handler)).second) {
    std::fprintf(stderr, "sesame: handler for %s registered twice\n", operation.c_str());
    std::abort();
  }
}

const Handler* HandlerTable::find(Api api, std::string_view operation) const {
  const auto& table = api == Api::kV1 ? v1_ : v2_;
  auto it = table.find(std::string(operation));
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace sesame::service
