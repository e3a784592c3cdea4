// The http-parser side of the parser benchmark: the parser Envoy used for years, driven the way
// Envoy drove it (callbacks that collect header fields into a map of pointer ranges).
#include "HTTPParserBaseline.h"
#include <http_parser.h>
#include <string.h>

typedef struct { const char *at; size_t length; } range;
typedef struct {
    range url;
    range names[128];
    range values[128];
    int count;
    int in_value;
    long body;
    int complete;
} collected;

static int on_message_begin(http_parser *p) {
    collected *c = p->data;
    c->count = 0; c->in_value = 0; c->body = 0; c->complete = 0; c->url.length = 0;
    return 0;
}
static int on_url(http_parser *p, const char *at, size_t n) {
    collected *c = p->data;
    if (c->url.length == 0) c->url.at = at;
    c->url.length += n;
    return 0;
}
static int on_status(http_parser *p, const char *at, size_t n) { return on_url(p, at, n); }
static int on_header_field(http_parser *p, const char *at, size_t n) {
    collected *c = p->data;
    if (c->in_value || c->count == 0) {
        if (c->count == 128) return 1;
        c->names[c->count].at = at; c->names[c->count].length = 0;
        c->values[c->count].length = 0;
        c->count++;
        c->in_value = 0;
    }
    c->names[c->count - 1].length += n;
    return 0;
}
static int on_header_value(http_parser *p, const char *at, size_t n) {
    collected *c = p->data;
    if (!c->in_value) { c->values[c->count - 1].at = at; c->in_value = 1; }
    c->values[c->count - 1].length += n;
    return 0;
}
static int on_headers_complete(http_parser *p) { (void)p; return 0; }
static int on_body(http_parser *p, const char *at, size_t n) {
    (void)at;
    ((collected *)p->data)->body += (long)n;
    return 0;
}
static int on_message_complete(http_parser *p) {
    ((collected *)p->data)->complete = 1;
    return 0;
}

long hp_parse_loop(const uint8_t *input, size_t length, long iterations, int is_response) {
    http_parser_settings settings;
    memset(&settings, 0, sizeof settings);
    settings.on_message_begin = on_message_begin;
    settings.on_url = on_url;
    settings.on_status = on_status;
    settings.on_header_field = on_header_field;
    settings.on_header_value = on_header_value;
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;
    collected c;
    http_parser parser;
    parser.data = &c;
    http_parser_init(&parser, is_response ? HTTP_RESPONSE : HTTP_REQUEST);
    for (long i = 0; i < iterations; i++) {
        size_t parsed = http_parser_execute(&parser, &settings, (const char *)input, length);
        if (parsed != length || parser.http_errno != HPE_OK || !c.complete) return -1;
    }
    return c.body;
}
