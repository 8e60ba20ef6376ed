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
 * Before msgpack_unpack() sees outside bytes, s_scan() walks them once
 * without allocating: msgpack-c reserves memory for a container's declared
 * element count up front, so a 5-byte frame announcing a 4-billion-element
 * array would otherwise ask for ~100 GB. The scan proves the bytes are
 * exactly one complete object whose containers fit in the bytes present, not
 * nested deeper than WIRE_MAX_DEPTH and holding at most WIRE_MAX_OBJECTS
 * objects; only then is msgpack-c asked to unpack them. */
#include "egw/wire.h"

#include "egw/log.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Our frames nest at most 2 deep (map -> list); the margin lets newer peers
 * add structured fields that we skip. msgpack-c's own limit is 32. */
#define WIRE_MAX_DEPTH 8
/* Bounds msgpack-c's zone (about 24 bytes per object) for one frame. A
 * request with 100,000 query parameters would still fit. */
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

/* ---- encoder ------------------------------------------------------------- */

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
 * is allocated once. msgpack needs at most 5 header bytes for a string or
 * binary and 9 for an integer. */
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

static int s_pack_str(msgpack_packer *pk, const char *s)
{
    /* A NULL inside a list is a caller bug; sending "" keeps the list even. */
    size_t len = s ? strlen(s) : 0;
    if (msgpack_pack_str(pk, len) != 0)
        return -1;
    return len ? msgpack_pack_str_body(pk, s, len) : 0;
}

static int s_pack_field(msgpack_packer *pk, const void *obj, const s_field_t *f)
{
    if (s_pack_str(pk, f->key) != 0)
        return -1;
    switch (f->type) {
    case F_VERSION:
        return msgpack_pack_int(pk, WIRE_VERSION);
    case F_TAG:
    case F_INT:
        return msgpack_pack_int(pk, *CFIELD(obj, f, int));
    case F_STR:
        return s_pack_str(pk, *CFIELD(obj, f, char *));
    case F_U64:
        return msgpack_pack_uint64(pk, *CFIELD(obj, f, uint64_t));
    case F_U32:
        return msgpack_pack_uint32(pk, *CFIELD(obj, f, uint32_t));
    case F_BOOL:
        return msgpack_pack_true(pk);
    case F_KVS: {
        const wire_kvs_t *kvs = CFIELD(obj, f, wire_kvs_t);
        if (kvs->count > UINT32_MAX / 2 || msgpack_pack_array(pk, kvs->count * 2) != 0)
            return -1;
        for (size_t i = 0; i < kvs->count; i++) {
            if (s_pack_str(pk, kvs->items[i].key) != 0 ||
                s_pack_str(pk, kvs->items[i].value) != 0)
                return -1;
        }
        return 0;
    }
    case F_BIN: {
        const uint8_t *body = *CFIELD(obj, f, uint8_t *);
        size_t len = *(const size_t *)((const char *)obj + f->len_offset);
        if (len > UINT32_MAX || msgpack_pack_bin(pk, len) != 0)
            return -1;
        return msgpack_pack_bin_body(pk, body, len);
    }
    }
    return -1;
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

    /* Pre-sized so msgpack_sbuffer_write never reallocates; it still would
     * if the estimate were short, so the estimate only affects speed. */
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    sbuf.data = malloc(estimate);
    if (!sbuf.data)
        goto fail;
    sbuf.alloc = estimate;

    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    if (msgpack_pack_map(&pk, count) != 0)
        goto fail;
    for (size_t i = 0; i < nfields; i++) {
        if (s_field_is_set(obj, &fields[i]) && s_pack_field(&pk, obj, &fields[i]) != 0)
            goto fail;
    }
    *out = sbuf.data;
    *out_len = sbuf.size;
    return 0;

fail:
    log_error("out of memory encoding a %zu-field frame", count);
    msgpack_sbuffer_destroy(&sbuf);
    return -1;
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

/* ---- decoder ------------------------------------------------------------- */

/* Copies a msgpack string into a new NUL-terminated string. Returns 0, or -1
 * with a reason (NUL byte inside, or out of memory). */
static int s_copy_str(const msgpack_object *o, char **out, const char **why)
{
    const char *s = o->via.str.ptr;
    size_t len = o->via.str.size;
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

static int s_decode_kvs(const msgpack_object *o, wire_kvs_t *kvs, const char **why)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        *why = "expected an array of strings";
        return -1;
    }
    const msgpack_object_array *a = &o->via.array;
    if (a->size % 2 != 0) {
        *why = "odd number of strings in a key/value list";
        return -1;
    }
    size_t count = a->size / 2;
    if (count == 0)
        return 0;
    kvs->items = calloc(s_kvs_capacity(count), sizeof *kvs->items);
    if (!kvs->items) {
        *why = "out of memory";
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const msgpack_object *k = &a->ptr[2 * i];
        const msgpack_object *v = &a->ptr[2 * i + 1];
        if (k->type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_STR) {
            *why = "expected an array of strings";
            return -1;
        }
        /* count grows with each complete pair, so wire_kvs_clear() frees
         * exactly what was copied if a later pair fails. */
        wire_kv_t *kv = &kvs->items[i];
        if (s_copy_str(k, &kv->key, why) != 0)
            return -1;
        if (s_copy_str(v, &kv->value, why) != 0) {
            free(kv->key);
            kv->key = NULL;
            return -1;
        }
        kvs->count = i + 1;
    }
    return 0;
}

static int s_decode_field(const msgpack_object *o, void *obj, const s_field_t *f,
                          const char **why)
{
    switch (f->type) {
    case F_VERSION:
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 != WIRE_VERSION) {
            *why = "unsupported version";
            return -1;
        }
        return 0;
    case F_TAG:
    case F_INT:
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT32_MAX) {
            *FIELD(obj, f, int) = (int)o->via.u64;
            return 0;
        }
        if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 >= INT32_MIN) {
            *FIELD(obj, f, int) = (int)o->via.i64;
            return 0;
        }
        *why = "expected a 32-bit integer";
        return -1;
    case F_U64:
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            *why = "expected an unsigned integer";
            return -1;
        }
        *FIELD(obj, f, uint64_t) = o->via.u64;
        return 0;
    case F_U32:
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX) {
            *why = "expected an unsigned 32-bit integer";
            return -1;
        }
        *FIELD(obj, f, uint32_t) = (uint32_t)o->via.u64;
        return 0;
    case F_BOOL:
        if (o->type != MSGPACK_OBJECT_BOOLEAN) {
            *why = "expected a boolean";
            return -1;
        }
        *FIELD(obj, f, bool) = o->via.boolean;
        return 0;
    case F_STR:
        if (o->type != MSGPACK_OBJECT_STR) {
            *why = "expected a string";
            return -1;
        }
        return s_copy_str(o, FIELD(obj, f, char *), why);
    case F_KVS:
        return s_decode_kvs(o, FIELD(obj, f, wire_kvs_t), why);
    case F_BIN: {
        if (o->type != MSGPACK_OBJECT_BIN) {
            *why = "expected binary";
            return -1;
        }
        size_t len = o->via.bin.size;
        if (len == 0)
            return 0;
        uint8_t *body = malloc(len);
        if (!body) {
            *why = "out of memory";
            return -1;
        }
        memcpy(body, o->via.bin.ptr, len);
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

/* The first zone chunk for a frame of len bytes: about what its object tree
 * takes (most frames are a map of short strings and integers), capped below
 * the size where glibc's malloc leaves its per-thread cache. */
static size_t s_zone_chunk(size_t len)
{
    size_t want = 256 + 2 * len;
    return want < 960 ? want : 960;
}

/* Fills obj (already zeroed) from data. On -1 obj may hold partial results
 * that the caller frees with its clear function. */
static int s_decode(const void *data, size_t len, void *obj, const s_field_t *fields,
                    size_t nfields, const char *what)
{
    const char *why = NULL;
    const char *key_name = NULL;
    /* A zone sized to the frame rather than msgpack_unpacked's 8 KiB one:
     * a typical header's object tree fits in a block malloc serves from its
     * per-thread cache, where an 8 KiB block made it consolidate the heap on
     * every frame. Strings are not copied into the zone (they point into
     * data), so it holds only the tree; a bigger tree adds chunks. */
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, s_zone_chunk(len))) {
        log_error("out of memory decoding a %zu-byte %s frame", len, what);
        return -1;
    }
    msgpack_object root_obj;

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

    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack(data, len, &off, &zone, &root_obj);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len) {
        why = rc == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory" : "msgpack parse error";
        goto fail;
    }
    const msgpack_object *root = &root_obj;
    if (root->type != MSGPACK_OBJECT_MAP) {
        why = "not a map";
        goto fail;
    }

    uint64_t seen = 0;
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        key_name = NULL;
        if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size == 0) {
            why = "map key is not a non-empty string";
            goto fail;
        }
        size_t index;
        const s_field_t *f = s_field_find(fields, nfields, kv->key.via.str.ptr,
                                          kv->key.via.str.size, &index);
        if (!f)
            continue; /* a newer peer's field */
        key_name = f->key;
        if (seen & ((uint64_t)1 << index)) {
            why = "duplicate key";
            goto fail;
        }
        seen |= (uint64_t)1 << index;
        if (s_decode_field(&kv->val, obj, f, &why) != 0)
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
    msgpack_zone_destroy(&zone);
    return 0;

fail:
    if (key_name)
        log_warn("malformed %s frame (%zu bytes): \"%s\": %s", what, len, key_name, why);
    else
        log_warn("malformed %s frame (%zu bytes): %s", what, len, why);
    msgpack_zone_destroy(&zone);
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
