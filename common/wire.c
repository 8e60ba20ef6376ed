/* The msgpack codec for the two frames every egw message carries (wire.h):
 * the header map (wire_hdr_t) read by ingress, router and workers, and the
 * event payload map (wire_payload_t) built by ingress and read by workers.
 * Every frame from another process passes wire_*_decode(), which turns any
 * malformed input into -1 plus one log line and never asserts.
 *
 * Encoding. Both frames are one msgpack map with short string keys. "v"
 * (WIRE_VERSION) comes first, then "t" (header) or "kind" (payload); every
 * other field is written only when set (non-NULL string, non-zero number,
 * true bool, non-empty list or body), so a HEARTBEAT is 7 bytes. An empty
 * string "" is set and survives the round trip; NULL stays NULL.
 *
 *   header:  v t corr method path et eid origin cm ch attrs status hdrs cap name
 *            job sync space fid ftype prov params tmo att ok err aid atype aprov wres unauth
 *   payload: v kind eid et time src method path host hdrs query ctype body
 *
 * Key/value lists ("hdrs", "attrs", "params", "query") are one flat msgpack array of
 * strings [k1, v1, k2, v2, ...] with an even length: unlike a map it keeps
 * duplicates and order (repeated query keys, Set-Cookie), and it is smaller
 * and cheaper to decode than an array of pairs. "body" is msgpack BIN, so
 * request bodies travel as raw bytes (NUL bytes included), never base64.
 *
 * Decoding is strict: the root must be a map; "v" must equal WIRE_VERSION;
 * "t"/"kind" must be present and known; a known key with the wrong msgpack
 * type, a known key given twice, a non-string key, a string field holding a
 * NUL byte, truncated data and trailing bytes are all rejected. Unknown keys
 * are skipped whatever their value, so a newer peer may add fields.
 *
 * The codec writes and reads msgpack itself rather than through msgpack-c's
 * packer and unpacker (same bytes, same types): every process encodes and
 * decodes several frames per request, and msgpack-c's zone (an 8 KiB malloc
 * per decoded frame) and per-item callbacks were a fifth of the router's
 * instructions. Before the decoder reads outside bytes, s_scan() walks them
 * once without allocating and proves they are exactly one complete object
 * whose containers fit in the bytes present (a 5-byte frame may announce a
 * 4-billion-element array), not nested deeper than WIRE_MAX_DEPTH and
 * holding at most WIRE_MAX_OBJECTS objects; the decoder then reads in place
 * without bounds checks. */
#include "egw/wire.h"

#include "egw/log.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Our frames nest at most 2 deep (map -> list); the margin lets newer peers
 * add structured fields that we skip (s_skip recurses this deep at most). */
#define WIRE_MAX_DEPTH 8
/* Bounds the work of decoding one frame. A request with 100,000 query
 * parameters would still fit. */
#define WIRE_MAX_OBJECTS (1u << 18)

const char *wire_type_name(int type)
{
    switch (type) {
    case WIRE_EVENT:
        return "EVENT";
    case WIRE_REPLY:
        return "REPLY";
    case WIRE_READY:
        return "READY";
    case WIRE_JOB:
        return "JOB";
    case WIRE_RESULT:
        return "RESULT";
    case WIRE_HEARTBEAT:
        return "HEARTBEAT";
    default:
        return "?";
    }
}

/* ---- key/value lists ------------------------------------------------------
 * wire_kvs_t has no capacity field, so the capacity is implied by the count:
 * 0 for an empty list, else the next power of two >= count, at least 4.
 * wire_kvs_addn() grows when count reaches that capacity, and the decoder
 * allocates exactly s_kvs_capacity(n), so a decoded list may be appended to. */

static size_t s_kvs_capacity(size_t count)
{
    if (count == 0)
        return 0;
    size_t cap = 4;
    while (cap < count)
        cap *= 2;
    return cap;
}

static char *s_strndup(const char *s, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        if (len)
            memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

int wire_kvs_addn(wire_kvs_t *self, const char *key, size_t key_len, const char *value,
                  size_t value_len)
{
    if (self->count == s_kvs_capacity(self->count)) {
        size_t cap = s_kvs_capacity(self->count + 1);
        wire_kv_t *items = realloc(self->items, cap * sizeof *items);
        if (!items)
            return -1;
        self->items = items;
    }
    char *k = s_strndup(key, key_len);
    char *v = s_strndup(value, value_len);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    self->items[self->count].key = k;
    self->items[self->count].value = v;
    self->count++;
    return 0;
}

int wire_kvs_add(wire_kvs_t *self, const char *key, const char *value)
{
    return wire_kvs_addn(self, key, strlen(key), value, strlen(value));
}

const char *wire_kvs_get(const wire_kvs_t *self, const char *key, bool nocase)
{
    for (size_t i = 0; i < self->count; i++) {
        const char *k = self->items[i].key;
        if (nocase ? strcasecmp(k, key) == 0 : strcmp(k, key) == 0)
            return self->items[i].value;
    }
    return NULL;
}

void wire_kvs_clear(wire_kvs_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free(self->items[i].key);
        free(self->items[i].value);
    }
    free(self->items);
    self->items = NULL;
    self->count = 0;
}

/* ---- field tables -----------------------------------------------------------
 * One table per frame drives both encoder and decoder, so a field cannot be
 * written under one key and read under another. */

typedef enum {
    F_VERSION, /* "v": always written, must equal WIRE_VERSION */
    F_TAG,     /* "t"/"kind": int, always written, required */
    F_STR,     /* char *, NUL-terminated, no NUL inside */
    F_U64,     /* uint64_t */
    F_U32,     /* uint32_t */
    F_INT,     /* int, may be negative */
    F_BOOL,    /* bool */
    F_KVS,     /* wire_kvs_t, flat array of strings */
    F_BIN,     /* uint8_t * plus size_t length at len_offset */
} s_ftype_t;

typedef struct {
    const char *key;
    s_ftype_t type;
    size_t offset;
    size_t len_offset; /* F_BIN only */
} s_field_t;

#define HF(key, type, member) {key, type, offsetof(wire_hdr_t, member), 0}
static const s_field_t s_hdr_fields[] = {
    {"v", F_VERSION, 0, 0},
    HF("t", F_TAG, type),
    HF("corr", F_U64, corr),
    HF("method", F_STR, method),
    HF("path", F_STR, path),
    HF("et", F_STR, event_type),
    HF("eid", F_STR, event_id),
    HF("origin", F_STR, origin),
    HF("cm", F_STR, cors_method),
    HF("ch", F_STR, cors_headers),
    HF("attrs", F_KVS, attrs),
    HF("status", F_INT, status),
    HF("hdrs", F_KVS, headers),
    HF("cap", F_U32, capacity),
    HF("name", F_STR, name),
    HF("job", F_U64, job_id),
    HF("sync", F_BOOL, sync),
    HF("space", F_STR, space),
    HF("fid", F_STR, function_id),
    HF("ftype", F_STR, function_type),
    HF("prov", F_STR, provider),
    HF("params", F_KVS, params),
    HF("tmo", F_U32, timeout_ms),
    HF("att", F_U32, attempt),
    HF("ok", F_BOOL, ok),
    HF("err", F_STR, error),
    HF("aid", F_STR, authorizer_id),
    HF("atype", F_STR, authorizer_type),
    HF("aprov", F_STR, authorizer_provider),
    HF("wres", F_BOOL, want_result),
    HF("unauth", F_BOOL, unauthorized),
};
#undef HF

#define PF(key, type, member) {key, type, offsetof(wire_payload_t, member), 0}
static const s_field_t s_payload_fields[] = {
    {"v", F_VERSION, 0, 0},
    PF("kind", F_TAG, kind),
    PF("eid", F_STR, event_id),
    PF("et", F_STR, event_type),
    PF("time", F_STR, event_time),
    PF("src", F_STR, source),
    PF("method", F_STR, method),
    PF("path", F_STR, path),
    PF("host", F_STR, host),
    PF("hdrs", F_KVS, headers),
    PF("query", F_KVS, query),
    PF("ctype", F_STR, content_type),
    {"body", F_BIN, offsetof(wire_payload_t, body), offsetof(wire_payload_t, body_len)},
};
#undef PF

#define NFIELDS(table) (sizeof(table) / sizeof((table)[0]))

/* The seen-key bitmask in s_decode holds one bit per field. */
_Static_assert(NFIELDS(s_hdr_fields) <= 64, "too many header fields for the seen mask");
_Static_assert(NFIELDS(s_payload_fields) <= 64, "too many payload fields for the seen mask");

#define FIELD(obj, f, T) ((T *)((char *)(obj) + (f)->offset))
#define CFIELD(obj, f, T) ((const T *)((const char *)(obj) + (f)->offset))

/* ---- encoder -------------------------------------------------------------
 * Writes msgpack straight into one buffer sized up front by s_field_size(),
 * choosing the same smallest forms as msgpack-c's packer (so the bytes are
 * unchanged) without its callback and bounds check per item: the router
 * encodes two headers per request, and the packer was most of that cost. */

static bool s_field_is_set(const void *obj, const s_field_t *f)
{
    switch (f->type) {
    case F_VERSION:
    case F_TAG:
        return true;
    case F_STR:
        return *CFIELD(obj, f, char *) != NULL;
    case F_U64:
        return *CFIELD(obj, f, uint64_t) != 0;
    case F_U32:
        return *CFIELD(obj, f, uint32_t) != 0;
    case F_INT:
        return *CFIELD(obj, f, int) != 0;
    case F_BOOL:
        return *CFIELD(obj, f, bool);
    case F_KVS:
        return CFIELD(obj, f, wire_kvs_t)->count > 0;
    case F_BIN:
        return *(const size_t *)((const char *)obj + f->len_offset) > 0;
    }
    return false;
}

/* An upper bound on the encoded size of one set field, so that the buffer
 * is allocated once and the writers below need no bounds checks. msgpack
 * needs at most 5 header bytes for a string, binary or array and 9 for an
 * integer; keys are shorter than 32 bytes (one header byte). */
static size_t s_field_size(const void *obj, const s_field_t *f)
{
    size_t size = 1 + strlen(f->key);
    switch (f->type) {
    case F_STR:
        return size + 5 + strlen(*CFIELD(obj, f, char *));
    case F_KVS: {
        const wire_kvs_t *kvs = CFIELD(obj, f, wire_kvs_t);
        size += 5;
        for (size_t i = 0; i < kvs->count; i++) {
            const wire_kv_t *kv = &kvs->items[i];
            size += 10 + (kv->key ? strlen(kv->key) : 0) + (kv->value ? strlen(kv->value) : 0);
        }
        return size;
    }
    case F_BIN:
        return size + 5 + *(const size_t *)((const char *)obj + f->len_offset);
    default:
        return size + 9;
    }
}

static uint8_t *s_put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        p[i - 1] = (uint8_t)v;
        v >>= 8;
    }
    return p + n;
}

static uint8_t *s_put_uint(uint8_t *p, uint64_t v)
{
    if (v < 0x80) {
        *p++ = (uint8_t)v;
        return p;
    }
    if (v <= UINT8_MAX) {
        *p++ = 0xcc;
        return s_put_be(p, v, 1);
    }
    if (v <= UINT16_MAX) {
        *p++ = 0xcd;
        return s_put_be(p, v, 2);
    }
    if (v <= UINT32_MAX) {
        *p++ = 0xce;
        return s_put_be(p, v, 4);
    }
    *p++ = 0xcf;
    return s_put_be(p, v, 8);
}

static uint8_t *s_put_int(uint8_t *p, int v)
{
    if (v >= 0)
        return s_put_uint(p, (uint64_t)v);
    if (v >= -32) {
        *p++ = (uint8_t)(int8_t)v;
        return p;
    }
    if (v >= INT8_MIN) {
        *p++ = 0xd0;
        return s_put_be(p, (uint64_t)(int64_t)v, 1);
    }
    if (v >= INT16_MIN) {
        *p++ = 0xd1;
        return s_put_be(p, (uint64_t)(int64_t)v, 2);
    }
    *p++ = 0xd2;
    return s_put_be(p, (uint64_t)(int64_t)v, 4);
}

/* The head of a string (fixstr/str8/16/32) or, with bin, of a binary
 * (bin8/16/32), of len bytes. */
static uint8_t *s_put_head(uint8_t *p, size_t len, bool bin)
{
    if (!bin && len < 32) {
        *p++ = (uint8_t)(0xa0 | len);
        return p;
    }
    if (len <= UINT8_MAX) {
        *p++ = bin ? 0xc4 : 0xd9;
        return s_put_be(p, len, 1);
    }
    if (len <= UINT16_MAX) {
        *p++ = bin ? 0xc5 : 0xda;
        return s_put_be(p, len, 2);
    }
    *p++ = bin ? 0xc6 : 0xdb;
    return s_put_be(p, len, 4);
}

static uint8_t *s_put_str(uint8_t *p, const char *s)
{
    /* A NULL inside a list is a caller bug; sending "" keeps the list even. */
    size_t len = s ? strlen(s) : 0;
    p = s_put_head(p, len, false);
    if (len)
        memcpy(p, s, len);
    return p + len;
}

/* Map (fixmap/map16/map32) or array head for n entries. */
static uint8_t *s_put_count(uint8_t *p, size_t n, bool map)
{
    if (n < 16) {
        *p++ = (uint8_t)((map ? 0x80 : 0x90) | n);
        return p;
    }
    if (n <= UINT16_MAX) {
        *p++ = map ? 0xde : 0xdc;
        return s_put_be(p, n, 2);
    }
    *p++ = map ? 0xdf : 0xdd;
    return s_put_be(p, n, 4);
}

/* Writes one set field at p; NULL when a list or body is too long for
 * msgpack's 32-bit counts. */
static uint8_t *s_put_field(uint8_t *p, const void *obj, const s_field_t *f)
{
    p = s_put_str(p, f->key);
    switch (f->type) {
    case F_VERSION:
        return s_put_int(p, WIRE_VERSION);
    case F_TAG:
    case F_INT:
        return s_put_int(p, *CFIELD(obj, f, int));
    case F_STR:
        return s_put_str(p, *CFIELD(obj, f, char *));
    case F_U64:
        return s_put_uint(p, *CFIELD(obj, f, uint64_t));
    case F_U32:
        return s_put_uint(p, *CFIELD(obj, f, uint32_t));
    case F_BOOL:
        *p++ = 0xc3;
        return p;
    case F_KVS: {
        const wire_kvs_t *kvs = CFIELD(obj, f, wire_kvs_t);
        if (kvs->count > UINT32_MAX / 2)
            return NULL;
        p = s_put_count(p, kvs->count * 2, false);
        for (size_t i = 0; i < kvs->count; i++) {
            p = s_put_str(p, kvs->items[i].key);
            p = s_put_str(p, kvs->items[i].value);
        }
        return p;
    }
    case F_BIN: {
        const uint8_t *body = *CFIELD(obj, f, uint8_t *);
        size_t len = *(const size_t *)((const char *)obj + f->len_offset);
        if (len > UINT32_MAX)
            return NULL;
        p = s_put_head(p, len, true);
        memcpy(p, body, len);
        return p + len;
    }
    }
    return NULL;
}

static int s_encode(const void *obj, const s_field_t *fields, size_t nfields, char **out,
                    size_t *out_len)
{
    *out = NULL;
    *out_len = 0;

    size_t count = 0;
    size_t estimate = 5;
    for (size_t i = 0; i < nfields; i++) {
        if (s_field_is_set(obj, &fields[i])) {
            count++;
            estimate += s_field_size(obj, &fields[i]);
        }
    }

    uint8_t *buf = malloc(estimate);
    if (!buf) {
        log_error("out of memory encoding a %zu-field frame", count);
        return -1;
    }
    uint8_t *p = s_put_count(buf, count, true);
    for (size_t i = 0; i < nfields && p; i++) {
        if (s_field_is_set(obj, &fields[i]))
            p = s_put_field(p, obj, &fields[i]);
    }
    if (!p) {
        log_error("cannot encode a %zu-field frame: a list or body is too long", count);
        free(buf);
        return -1;
    }
    assert((size_t)(p - buf) <= estimate);
    *out = (char *)buf;
    *out_len = (size_t)(p - buf);
    return 0;
}

int wire_hdr_encode(const wire_hdr_t *self, char **out, size_t *out_len)
{
    return s_encode(self, s_hdr_fields, NFIELDS(s_hdr_fields), out, out_len);
}

int wire_payload_encode(const wire_payload_t *self, char **out, size_t *out_len)
{
    return s_encode(self, s_payload_fields, NFIELDS(s_payload_fields), out, out_len);
}

/* ---- structural scan ------------------------------------------------------ */

static uint64_t s_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Checks that data is exactly one complete msgpack object within the limits
 * above. Returns 0, or -1 with a static reason in *why. */
static int s_scan(const uint8_t *p, size_t len, const char **why)
{
    const uint8_t *end = p + len;
    uint64_t pending[WIRE_MAX_DEPTH]; /* objects still to read at each open level */
    size_t depth = 1;
    uint64_t objects = 1;
    pending[0] = 1;

    while (depth > 0) {
        if (pending[depth - 1] == 0) {
            depth--;
            continue;
        }
        pending[depth - 1]--;
        if (p == end) {
            *why = "truncated";
            goto fail;
        }

        uint8_t b = *p++;
        size_t lenbytes = 0;  /* size of a following big-endian length or count */
        uint64_t skip = 0;    /* fixed payload bytes */
        uint64_t items = 0;   /* child objects of a container */
        bool container = false;
        bool sized = false;   /* payload size follows in lenbytes */
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, bool: no payload */
        } else if (b <= 0x8f) {
            container = true;
            items = 2u * (b & 0x0f);
        } else if (b <= 0x9f) {
            container = true;
            items = b & 0x0f;
        } else if (b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: lenbytes = 1; sized = true; break; /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; sized = true; break; /* bin16, str16 */
            case 0xc6: case 0xdb: lenbytes = 4; sized = true; break; /* bin32, str32 */
            case 0xc7: lenbytes = 1; sized = true; skip = 1; break;   /* ext8 (+type) */
            case 0xc8: lenbytes = 2; sized = true; skip = 1; break;   /* ext16 */
            case 0xc9: lenbytes = 4; sized = true; skip = 1; break;   /* ext32 */
            case 0xca: skip = 4; break;
            case 0xcb: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break; /* fixext: type byte + data */
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: lenbytes = 2; container = true; break;
            case 0xdd: lenbytes = 4; container = true; break;
            case 0xde: lenbytes = 2; container = true; items = 1; break; /* map: x2 below */
            case 0xdf: lenbytes = 4; container = true; items = 1; break;
            default:
                *why = "invalid msgpack type byte";
                goto fail;
            }
        }

        if (lenbytes) {
            if ((size_t)(end - p) < lenbytes) {
                *why = "truncated";
                goto fail;
            }
            uint64_t n = s_be(p, lenbytes);
            p += lenbytes;
            if (container)
                items = items ? 2 * n : n;
            else if (sized)
                skip += n;
        }
        if (skip > (uint64_t)(end - p)) {
            *why = "truncated";
            goto fail;
        }
        p += skip;

        if (container && items > 0) {
            /* Every object takes at least one byte, so a count larger than
             * the bytes left can never be satisfied. */
            if (items > (uint64_t)(end - p)) {
                *why = "truncated";
                goto fail;
            }
            objects += items;
            if (objects > WIRE_MAX_OBJECTS) {
                *why = "too many msgpack objects";
                goto fail;
            }
            if (depth == WIRE_MAX_DEPTH) {
                *why = "nested too deep";
                goto fail;
            }
            pending[depth++] = items;
        }
    }
    if (p != end) {
        *why = "trailing bytes after the map";
        goto fail;
    }
    return 0;

fail:
    return -1;
}

/* ---- decoder -------------------------------------------------------------
 * Once s_scan() has accepted the bytes, the decoder reads them in place:
 * no msgpack_object tree and no msgpack zone (an 8 KiB malloc, and a heap
 * consolidation when freed, per frame in every process). Types are told
 * apart as msgpack-c does: a signed integer that is not negative counts as
 * unsigned, str and bin are distinct, and anything else (nil, float, ext)
 * matches no field type. */

typedef enum { O_OTHER, O_POS, O_NEG, O_BOOL, O_STR, O_BIN, O_ARRAY, O_MAP } s_otype_t;

typedef struct {
    s_otype_t type;
    uint64_t u;      /* O_POS value; O_BOOL 0/1 */
    int64_t i;       /* O_NEG value */
    const char *ptr; /* O_STR, O_BIN bytes */
    uint64_t size;   /* O_STR, O_BIN length; O_ARRAY elements; O_MAP pairs */
} s_obj_t;

/* Reads the object at *p and moves *p past it, except that for an array or
 * map it stops at the first element. No bounds checks: s_scan() proved the
 * whole object is present. */
static void s_read(const uint8_t **p_p, s_obj_t *o)
{
    const uint8_t *p = *p_p;
    uint8_t b = *p++;
    o->type = O_OTHER;
    o->size = 0;
    if (b <= 0x7f) {
        o->type = O_POS;
        o->u = b;
    } else if (b >= 0xe0) {
        o->type = O_NEG;
        o->i = (int8_t)b;
    } else if (b <= 0x8f) {
        o->type = O_MAP;
        o->size = b & 0x0f;
    } else if (b <= 0x9f) {
        o->type = O_ARRAY;
        o->size = b & 0x0f;
    } else if (b <= 0xbf) {
        o->type = O_STR;
        o->size = b & 0x1f;
    } else {
        size_t n;
        int64_t v;
        switch (b) {
        case 0xc2:
        case 0xc3:
            o->type = O_BOOL;
            o->u = b == 0xc3;
            break;
        case 0xc4: case 0xc5: case 0xc6: /* bin8/16/32 */
            n = (size_t)1 << (b - 0xc4);
            o->type = O_BIN;
            o->size = s_be(p, n);
            p += n;
            break;
        case 0xd9: case 0xda: case 0xdb: /* str8/16/32 */
            n = (size_t)1 << (b - 0xd9);
            o->type = O_STR;
            o->size = s_be(p, n);
            p += n;
            break;
        case 0xc7: case 0xc8: case 0xc9: /* ext8/16/32: length, type, data */
            n = (size_t)1 << (b - 0xc7);
            p += n + 1 + s_be(p, n);
            break;
        case 0xca: p += 4; break; /* float32 */
        case 0xcb: p += 8; break; /* float64 */
        case 0xcc: case 0xcd: case 0xce: case 0xcf: /* uint8..64 */
            n = (size_t)1 << (b - 0xcc);
            o->type = O_POS;
            o->u = s_be(p, n);
            p += n;
            break;
        case 0xd0: v = (int8_t)p[0]; p += 1; goto sint;
        case 0xd1: v = (int16_t)s_be(p, 2); p += 2; goto sint;
        case 0xd2: v = (int32_t)s_be(p, 4); p += 4; goto sint;
        case 0xd3: v = (int64_t)s_be(p, 8); p += 8; goto sint;
        sint:
            if (v < 0) {
                o->type = O_NEG;
                o->i = v;
            } else {
                o->type = O_POS;
                o->u = (uint64_t)v;
            }
            break;
        case 0xd4: p += 2; break; /* fixext 1..16: type byte + data */
        case 0xd5: p += 3; break;
        case 0xd6: p += 5; break;
        case 0xd7: p += 9; break;
        case 0xd8: p += 17; break;
        case 0xdc: case 0xdd:
            n = b == 0xdc ? 2 : 4;
            o->type = O_ARRAY;
            o->size = s_be(p, n);
            p += n;
            break;
        case 0xde: case 0xdf:
            n = b == 0xde ? 2 : 4;
            o->type = O_MAP;
            o->size = s_be(p, n);
            p += n;
            break;
        default: /* nil; 0xc1 never passes s_scan() */
            break;
        }
    }
    if (o->type == O_STR || o->type == O_BIN) {
        o->ptr = (const char *)p;
        p += o->size;
    }
    *p_p = p;
}

/* Moves *p_p past one whole object. Recursion is bounded by WIRE_MAX_DEPTH,
 * which s_scan() enforced. */
static void s_skip(const uint8_t **p_p)
{
    s_obj_t o;
    s_read(p_p, &o);
    uint64_t children = o.type == O_MAP ? 2 * o.size : o.type == O_ARRAY ? o.size : 0;
    for (uint64_t i = 0; i < children; i++)
        s_skip(p_p);
}

/* Copies a msgpack string into a new NUL-terminated string. Returns 0, or -1
 * with a reason (NUL byte inside, or out of memory). */
static int s_copy_str(const s_obj_t *o, char **out, const char **why)
{
    const char *s = o->ptr;
    size_t len = o->size;
    if (len && memchr(s, '\0', len)) {
        *why = "NUL byte in a string";
        return -1;
    }
    *out = s_strndup(s, len);
    if (!*out) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

/* o is the array head just read; its elements follow at *p_p. */
static int s_decode_kvs(const s_obj_t *o, const uint8_t **p_p, wire_kvs_t *kvs,
                        const char **why)
{
    if (o->type != O_ARRAY) {
        *why = "expected an array of strings";
        return -1;
    }
    if (o->size % 2 != 0) {
        *why = "odd number of strings in a key/value list";
        return -1;
    }
    size_t count = o->size / 2;
    if (count == 0)
        return 0;
    kvs->items = calloc(s_kvs_capacity(count), sizeof *kvs->items);
    if (!kvs->items) {
        *why = "out of memory";
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        s_obj_t k, v;
        s_read(p_p, &k);
        if (k.type != O_STR) {
            *why = "expected an array of strings";
            return -1;
        }
        s_read(p_p, &v);
        if (v.type != O_STR) {
            *why = "expected an array of strings";
            return -1;
        }
        /* count grows with each complete pair, so wire_kvs_clear() frees
         * exactly what was copied if a later pair fails. */
        wire_kv_t *kv = &kvs->items[i];
        if (s_copy_str(&k, &kv->key, why) != 0)
            return -1;
        if (s_copy_str(&v, &kv->value, why) != 0) {
            free(kv->key);
            kv->key = NULL;
            return -1;
        }
        kvs->count = i + 1;
    }
    return 0;
}

/* Reads the value at *p_p into field f of obj. On -1 *p_p is left anywhere:
 * the caller stops decoding. */
static int s_decode_field(const uint8_t **p_p, void *obj, const s_field_t *f, const char **why)
{
    s_obj_t o;
    s_read(p_p, &o);
    switch (f->type) {
    case F_VERSION:
        if (o.type != O_POS || o.u != WIRE_VERSION) {
            *why = "unsupported version";
            return -1;
        }
        return 0;
    case F_TAG:
    case F_INT:
        if (o.type == O_POS && o.u <= INT32_MAX) {
            *FIELD(obj, f, int) = (int)o.u;
            return 0;
        }
        if (o.type == O_NEG && o.i >= INT32_MIN) {
            *FIELD(obj, f, int) = (int)o.i;
            return 0;
        }
        *why = "expected a 32-bit integer";
        return -1;
    case F_U64:
        if (o.type != O_POS) {
            *why = "expected an unsigned integer";
            return -1;
        }
        *FIELD(obj, f, uint64_t) = o.u;
        return 0;
    case F_U32:
        if (o.type != O_POS || o.u > UINT32_MAX) {
            *why = "expected an unsigned 32-bit integer";
            return -1;
        }
        *FIELD(obj, f, uint32_t) = (uint32_t)o.u;
        return 0;
    case F_BOOL:
        if (o.type != O_BOOL) {
            *why = "expected a boolean";
            return -1;
        }
        *FIELD(obj, f, bool) = o.u != 0;
        return 0;
    case F_STR:
        if (o.type != O_STR) {
            *why = "expected a string";
            return -1;
        }
        return s_copy_str(&o, FIELD(obj, f, char *), why);
    case F_KVS:
        return s_decode_kvs(&o, p_p, FIELD(obj, f, wire_kvs_t), why);
    case F_BIN: {
        if (o.type != O_BIN) {
            *why = "expected binary";
            return -1;
        }
        size_t len = o.size;
        if (len == 0)
            return 0;
        uint8_t *body = malloc(len);
        if (!body) {
            *why = "out of memory";
            return -1;
        }
        memcpy(body, o.ptr, len);
        *FIELD(obj, f, uint8_t *) = body;
        *(size_t *)((char *)obj + f->len_offset) = len;
        return 0;
    }
    }
    *why = "internal: unknown field type";
    return -1;
}

static const s_field_t *s_field_find(const s_field_t *fields, size_t nfields, const char *key,
                                     size_t key_len, size_t *index)
{
    for (size_t i = 0; i < nfields; i++) {
        const char *k = fields[i].key;
        if (k[0] == key[0] && strlen(k) == key_len && memcmp(k, key, key_len) == 0) {
            *index = i;
            return &fields[i];
        }
    }
    return NULL;
}

/* Fills obj (already zeroed) from data. On -1 obj may hold partial results
 * that the caller frees with its clear function. */
static int s_decode(const void *data, size_t len, void *obj, const s_field_t *fields,
                    size_t nfields, const char *what)
{
    const char *why = NULL;
    const char *key_name = NULL;

    if (!data || len == 0) {
        why = "empty";
        goto fail;
    }
    if ((((const uint8_t *)data)[0] & 0xf0) != 0x80 && ((const uint8_t *)data)[0] != 0xde &&
        ((const uint8_t *)data)[0] != 0xdf) {
        why = "not a map";
        goto fail;
    }
    if (s_scan(data, len, &why) != 0)
        goto fail;

    const uint8_t *p = data;
    s_obj_t root;
    s_read(&p, &root);
    if (root.type != O_MAP) {
        why = "not a map";
        goto fail;
    }

    uint64_t seen = 0;
    for (uint64_t i = 0; i < root.size; i++) {
        key_name = NULL;
        s_obj_t key;
        s_read(&p, &key);
        if (key.type != O_STR || key.size == 0) {
            why = "map key is not a non-empty string";
            goto fail;
        }
        size_t index;
        const s_field_t *f = s_field_find(fields, nfields, key.ptr, key.size, &index);
        if (!f) {
            s_skip(&p); /* a newer peer's field */
            continue;
        }
        key_name = f->key;
        if (seen & ((uint64_t)1 << index)) {
            why = "duplicate key";
            goto fail;
        }
        seen |= (uint64_t)1 << index;
        if (s_decode_field(&p, obj, f, &why) != 0)
            goto fail;
    }
    key_name = NULL;
    /* Fields 0 and 1 of each table are "v" and the type tag. */
    if (!(seen & 1u)) {
        why = "missing version";
        goto fail;
    }
    if (!(seen & 2u)) {
        key_name = fields[1].key;
        why = "missing";
        goto fail;
    }
    return 0;

fail:
    if (key_name)
        log_warn("malformed %s frame (%zu bytes): \"%s\": %s", what, len, key_name, why);
    else
        log_warn("malformed %s frame (%zu bytes): %s", what, len, why);
    return -1;
}

int wire_hdr_decode(const void *data, size_t len, wire_hdr_t *self)
{
    memset(self, 0, sizeof *self);
    if (s_decode(data, len, self, s_hdr_fields, NFIELDS(s_hdr_fields), "header") != 0)
        goto fail;
    if (self->type < WIRE_EVENT || self->type > WIRE_HEARTBEAT) {
        log_warn("malformed header frame: unknown type %d", self->type);
        goto fail;
    }
    return 0;

fail:
    wire_hdr_clear(self);
    return -1;
}

int wire_payload_decode(const void *data, size_t len, wire_payload_t *self)
{
    memset(self, 0, sizeof *self);
    if (s_decode(data, len, self, s_payload_fields, NFIELDS(s_payload_fields), "payload") != 0)
        goto fail;
    if (self->kind != WIRE_KIND_HTTP && self->kind != WIRE_KIND_CLOUDEVENT) {
        log_warn("malformed payload frame: unknown kind %d", self->kind);
        goto fail;
    }
    return 0;

fail:
    wire_payload_clear(self);
    return -1;
}

void wire_hdr_clear(wire_hdr_t *self)
{
    if (!self)
        return;
    free(self->method);
    free(self->path);
    free(self->event_type);
    free(self->event_id);
    free(self->origin);
    free(self->cors_method);
    free(self->cors_headers);
    wire_kvs_clear(&self->attrs);
    wire_kvs_clear(&self->headers);
    free(self->name);
    free(self->space);
    free(self->function_id);
    free(self->function_type);
    free(self->provider);
    wire_kvs_clear(&self->params);
    free(self->error);
    free(self->authorizer_id);
    free(self->authorizer_type);
    free(self->authorizer_provider);
    memset(self, 0, sizeof *self);
}

void wire_payload_clear(wire_payload_t *self)
{
    if (!self)
        return;
    free(self->event_id);
    free(self->event_type);
    free(self->event_time);
    free(self->source);
    free(self->method);
    free(self->path);
    free(self->host);
    wire_kvs_clear(&self->headers);
    wire_kvs_clear(&self->query);
    free(self->content_type);
    free(self->body);
    memset(self, 0, sizeof *self);
}
