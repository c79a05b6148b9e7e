// libFuzzer target: journal records are decoded at recovery from bytes on disk, which a torn
// write, a bad disk or a hand edit can turn into anything. Every decoder must answer with a
// value or errc::corruption: never crash, hang or read out of bounds.
//
//   scripts/fuzz.sh [SECONDS]      builds with clang -fsanitize=fuzzer,address and runs it
#include "codec.hpp"
#include "mailroom/error.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  // The first byte picks the record type, the rest is the record.
  std::string blob{reinterpret_cast<const char*>(data) + 1, size - 1};
  auto check = [](const caf::error& err) {
    if (err && mailroom::code_of(err) != mailroom::errc::corruption)
      std::abort(); // decoders may only fail with corruption
  };
  switch (data[0] % 6) {
  case 0:
    if (auto r = mailroom::codec::decode_segment(blob); !r)
      check(r.error());
    break;
  case 1:
    if (auto r = mailroom::codec::decode_events(blob); !r)
      check(r.error());
    break;
  case 2:
    if (auto r = mailroom::codec::decode_dead_letter(blob); !r)
      check(r.error());
    break;
  case 3:
    if (auto r = mailroom::codec::decode_queue_config(blob); !r)
      check(r.error());
    break;
  case 5:
    if (auto r = mailroom::codec::decode_trace(blob); !r)
      check(r.error());
    break;
  case 4: { // a segment of copies and the publication it names
    auto half = blob.size() / 16 * 8;
    if (auto r = mailroom::codec::decode_segment(std::string_view{blob}.substr(0, half),
                                                 std::string_view{blob}.substr(half));
        !r)
      check(r.error());
    break;
  }
  }
  return 0;
}
