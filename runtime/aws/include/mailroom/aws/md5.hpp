// The digests SQS answers with, which the AWS SDKs for Java, Go, .NET and JavaScript check
// (Debian 12's boto3 and awscli do not): MD5OfMessageBody and MD5OfMessageAttributes, computed
// exactly as SQS does (docs: "Calculating the MD5 message digest for message attributes").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::aws {

/// One SQS message attribute as sent: `data_type` in full ("Number.int"), and its value, text
/// for String and Number types, raw bytes (base64-decoded) for Binary ones.
struct message_attribute {
  std::string name;
  std::string data_type;
  std::string value;
  bool binary = false;
};

/// `n` bytes as lowercase hex (every digest here is written so).
std::string lower_hex(const unsigned char* bytes, size_t n);

/// Lowercase hex MD5 of `bytes`.
std::string md5_hex(std::string_view bytes);

/// MD5OfMessageAttributes: over the attributes sorted by name, each as length-prefixed name and
/// type, a transport byte (1 text, 2 binary) and the length-prefixed value. Callers answer it
/// only when there is at least one attribute.
std::string attributes_md5(std::vector<message_attribute> attributes);

} // namespace mailroom::aws
