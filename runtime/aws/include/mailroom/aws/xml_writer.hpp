// Writes the XML replies of the AWS query protocol: elements and escaped leaf text, nothing
// pretty-printed (botocore does not trim leaf text). Carriage returns are written as &#xD;, or
// an XML parser would turn them into line feeds and change the body (and its MD5).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailroom::aws {

class xml_writer {
public:
  /// Starts the document with its root element and namespace.
  xml_writer(std::string_view root, std::string_view xmlns);

  void open(std::string_view tag);
  void close(); ///< the innermost open element
  void leaf(std::string_view tag, std::string_view text);

  /// Closes what is still open and returns the document.
  std::string finish();

private:
  std::string out_;
  std::vector<std::string> open_;
};

/// `text` escaped for XML character data (&, <, >, ", ' and CR).
std::string xml_escape(std::string_view text);

/// Whether `text` is valid UTF-8 made only of characters XML 1.0 can carry (#x9, #xA, #xD,
/// #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF). Else the byte offset of the first one that
/// is not, through `bad_at`.
bool xml_representable(std::string_view text, size_t* bad_at = nullptr);

} // namespace mailroom::aws
