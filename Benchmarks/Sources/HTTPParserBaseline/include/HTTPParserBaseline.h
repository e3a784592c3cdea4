#ifndef HTTP_PARSER_BASELINE_H
#define HTTP_PARSER_BASELINE_H
#include <stddef.h>
#include <stdint.h>

/// Parses `input` (complete messages, back to back) `iterations` times with nodejs http-parser, recording
/// every header name/value as pointer+length (what a header map built on it holds), the URL or
/// status, and counting body bytes. Returns the body bytes of the last message, or -1 on error.
long hp_parse_loop(const uint8_t *input, size_t length, long iterations, int is_response);

#endif
