// Helpers shared by the codec's source files: flat serialization and untrusted decoding.
#pragma once

#include "mailroom/error.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <cstring>
#include <string>
#include <string_view>

namespace mailroom::codec {

/// Serializes straight into the string: no intermediate flat array, one copy of the bytes.
inline std::string to_string(capnp::MessageBuilder& message) {
  auto segments = message.getSegmentsForOutput();
  std::string out(capnp::computeSerializedSizeInWords(segments) * sizeof(capnp::word), '\0');
  kj::ArrayOutputStream stream{kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()), out.size())};
  capnp::writeMessage(stream, segments);
  return out;
}

/// Decodes `blob` as a message with root T and hands the reader to `f`. Copies into aligned
/// words first: SQLite gives no alignment guarantee.
template <class T, class F>
auto decode(std::string_view blob, const char* what, F&& f)
    -> caf::expected<decltype(f(std::declval<typename T::Reader>()))> {
  if (blob.size() % sizeof(capnp::word) != 0)
    return make_error(errc::corruption, std::string{what} + ": record of " +
                                            std::to_string(blob.size()) +
                                            " bytes is not whole words");
  try {
    auto words = kj::heapArray<capnp::word>(blob.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), blob.data(), blob.size());
    capnp::ReaderOptions options;
    // Records are written flat and decoded in one pass, so reading one traverses about its own
    // size. A limit far above that lets a few corrupt bytes claim a list of a billion
    // zero-sized elements (found by tests/fuzz); twice the size leaves room for re-reads.
    options.traversalLimitInWords = 2 * words.size() + 1024;
    capnp::FlatArrayMessageReader reader{words, options};
    return f(reader.getRoot<T>());
  } catch (const kj::Exception& e) {
    return make_error(errc::corruption, std::string{what} + ": " + e.getDescription().cStr());
  }
}

std::string text(capnp::Text::Reader t);

} // namespace mailroom::codec
