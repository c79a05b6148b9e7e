// Helpers shared by the codec's source files: flat serialization and untrusted decoding.
#pragma once

#include "mailroom/error.hpp"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <cstring>
#include <string>

namespace mailroom::codec {

/// Serializes straight into the string: no intermediate flat array, one copy of the bytes.
inline std::string to_string(capnp::MessageBuilder& message) {
  auto segments = message.getSegmentsForOutput();
  std::string out(capnp::computeSerializedSizeInWords(segments) * sizeof(capnp::word), '\0');
  kj::ArrayOutputStream stream{kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()), out.size())};
  capnp::writeMessage(stream, segments);
  return out;
}

/// The first byte of a packed record. A flat one starts with its segment count minus one, which
/// is never 255.
constexpr char packed_marker = '\xff';

/// Serializes with Cap'n Proto packing (zero bytes squeezed out), after packed_marker: for
/// records rewritten often, where every byte saved is a byte less in the write-ahead log.
inline std::string to_packed_string(capnp::MessageBuilder& message) {
  struct string_output : kj::OutputStream {
    std::string out;
    void write(const void* bytes, size_t size) override {
      out.append(static_cast<const char*>(bytes), size);
    }
  } stream;
  auto segments = message.getSegmentsForOutput();
  stream.out.reserve(1 + capnp::computeSerializedSizeInWords(segments) * sizeof(capnp::word));
  stream.out.push_back(packed_marker);
  capnp::writePackedMessage(stream, segments);
  return std::move(stream.out);
}

/// Decodes `blob` (flat, or packed after packed_marker) as a message with root T and hands the
/// reader to `f`. Copies flat records into aligned words first: SQLite gives no alignment
/// guarantee.
template <class T, class F>
auto decode(const std::string& blob, const char* what, F&& f)
    -> caf::expected<decltype(f(std::declval<typename T::Reader>()))> {
  if (!blob.empty() && blob.front() == packed_marker) {
    try {
      kj::ArrayInputStream stream{
          kj::arrayPtr(reinterpret_cast<const kj::byte*>(blob.data()) + 1, blob.size() - 1)};
      capnp::ReaderOptions options;
      // Packing squeezes zeros only: a real record unpacks to a few times its size. The limit
      // also bounds what a corrupt header can make the reader allocate.
      options.traversalLimitInWords = 2 * blob.size() + 1024;
      capnp::PackedMessageReader reader{stream, options};
      return f(reader.getRoot<T>());
    } catch (const kj::Exception& e) {
      return make_error(errc::corruption, std::string{what} + ": " + e.getDescription().cStr());
    }
  }
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
