#include "mailroom/aws/md5.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>

namespace mailroom::aws {

namespace {

struct md5_context {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  md5_context() {
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1)
      throw std::runtime_error("libcrypto: MD5 is not available");
  }
  void update(std::string_view bytes) { EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()); }
  void update_length_and_bytes(std::string_view bytes) {
    auto n = static_cast<uint32_t>(bytes.size());
    unsigned char be[4] = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                           static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
    EVP_DigestUpdate(ctx.get(), be, 4);
    update(bytes);
  }
  std::string finish() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned size = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &size);
    return lower_hex(digest, size);
  }
};

} // namespace

std::string lower_hex(const unsigned char* bytes, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 0xF]);
  }
  return out;
}

std::string md5_hex(std::string_view bytes) {
  md5_context md5;
  md5.update(bytes);
  return md5.finish();
}

std::string attributes_md5(attribute_list attributes) {
  std::sort(attributes.begin(), attributes.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });
  md5_context md5;
  for (const auto& a : attributes) {
    md5.update_length_and_bytes(a.key);
    md5.update_length_and_bytes(a.type_name());
    md5.update(a.binary() ? std::string_view{"\x02", 1} : std::string_view{"\x01", 1});
    md5.update_length_and_bytes(a.value);
  }
  return md5.finish();
}

} // namespace mailroom::aws
