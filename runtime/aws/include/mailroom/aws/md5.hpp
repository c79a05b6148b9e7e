// The digests SQS answers with, which the AWS SDKs for Java, Go, .NET and JavaScript check
// (Debian 12's boto3 and awscli do not): MD5OfMessageBody and MD5OfMessageAttributes, computed
// exactly as SQS does (docs: "Calculating the MD5 message digest for message attributes").
#pragma once

#include "mailroom/types.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::aws {

/// `n` bytes as lowercase hex (every digest here is written so).
std::string lower_hex(const unsigned char* bytes, size_t n);

/// Lowercase hex MD5 of `bytes`.
std::string md5_hex(std::string_view bytes);

/// MD5OfMessageAttributes: over the attributes sorted by name, each as length-prefixed name and
/// type (in full: "Number.int"), a transport byte (1 text, 2 binary) and the length-prefixed
/// value (a Binary one's raw bytes). Callers answer it
/// only when there is at least one attribute.
std::string attributes_md5(attribute_list attributes);

} // namespace mailroom::aws
