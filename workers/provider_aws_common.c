/* The parts every AWS function type shares (egw-worker, called from the
 * providers' prepare/check on the worker thread): where credentials come
 * from, which endpoint a call goes to, and how libcurl signs it.
 *
 * Signing is libcurl's own SigV4 (CURLOPT_AWS_SIGV4): it signs the Host,
 * X-Amz-Date it adds, and every header we add (Content-Type, X-Amz-Target,
 * X-Amz-Security-Token), plus the body. Two consequences shape the callers:
 * libcurl 7.88 signs the URL path exactly as given, while AWS signs it
 * URI-encoded once more, so paths must hold only unreserved characters
 * (provider_awslambda.c invokes by name for that reason); and a header we
 * remove with "Name:" is still listed as signed by 7.88, so we never
 * remove any (curl's own "Expect: 100-continue" on large bodies is not
 * signed, and AWS answers it). */
#include "provider_aws_common.h"

#include "egw/base64.h"
#include "egw/clock.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/stat.h>

/* A credentials file larger than this is refused rather than read. */
#define AWS_CREDENTIALS_FILE_MAX (1024 * 1024)

/* Credentials go into the Authorization and X-Amz-Security-Token headers:
 * printable ASCII without spaces only, so nothing can split a header. */
static bool s_cred_valid(const char *v)
{
    for (; *v; v++) {
        if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
            return false;
    }
    return true;
}

static int s_cred_copy(char *dst, size_t dstlen, const char *src, const char *what,
                       const char *source, char *err, size_t errlen)
{
    if (strlen(src) >= dstlen) {
        snprintf(err, errlen, "AWS %s from the %s is too long", what, source);
        return -1;
    }
    if (!s_cred_valid(src)) {
        snprintf(err, errlen, "AWS %s from the %s holds spaces or control characters", what,
                 source);
        return -1;
    }
    strcpy(dst, src);
    return 0;
}

/* Fills creds from one source's three values; token may be NULL or "". */
static int s_creds_set(aws_creds_t *creds, const char *source, const char *id, const char *secret,
                       const char *token, char *err, size_t errlen)
{
    memset(creds, 0, sizeof(*creds));
    creds->source = source;
    if (s_cred_copy(creds->access_key_id, sizeof(creds->access_key_id), id, "access key id",
                    source, err, errlen) != 0 ||
        s_cred_copy(creds->secret_access_key, sizeof(creds->secret_access_key), secret,
                    "secret access key", source, err, errlen) != 0)
        return -1;
    if (token && *token &&
        s_cred_copy(creds->session_token, sizeof(creds->session_token), token, "session token",
                    source, err, errlen) != 0)
        return -1;
    return 0;
}

static const char *s_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static const char *s_field(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(item) && item->valuestring[0] ? item->valuestring : NULL;
}

/* Trims spaces and tabs on both ends of [*start, *end). */
static void s_trim(const char **start, const char **end)
{
    while (*start < *end && (**start == ' ' || **start == '\t' || **start == '\r'))
        (*start)++;
    while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
        (*end)--;
}

static bool s_span_equals(const char *start, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - start) == n && strncasecmp(start, word, n) == 0;
}

int aws_credentials_parse(const char *text, const char *profile, aws_creds_t *creds, char *err,
                          size_t errlen)
{
    char id[sizeof(creds->access_key_id)] = "";
    char secret[sizeof(creds->secret_access_key)] = "";
    char token[sizeof(creds->session_token)] = "";
    bool in_profile = false;
    const char *line = text;
    while (line && *line) {
        const char *eol = strchr(line, '\n');
        const char *end = eol ? eol : line + strlen(line);
        const char *start = line;
        line = eol ? eol + 1 : NULL;
        s_trim(&start, &end);
        if (start == end || *start == '#' || *start == ';')
            continue;
        if (*start == '[') {
            const char *close = memchr(start, ']', (size_t)(end - start));
            const char *name = start + 1;
            const char *name_end = close ? close : end;
            s_trim(&name, &name_end);
            size_t n = strlen(profile);
            in_profile = close && (size_t)(name_end - name) == n && strncmp(name, profile, n) == 0;
            continue;
        }
        if (!in_profile)
            continue;
        const char *eq = memchr(start, '=', (size_t)(end - start));
        if (!eq)
            continue; /* not a setting; the AWS CLI ignores such lines too */
        const char *key = start, *key_end = eq, *val = eq + 1, *val_end = end;
        s_trim(&key, &key_end);
        s_trim(&val, &val_end);
        char *dst = NULL;
        size_t dstlen = 0;
        if (s_span_equals(key, key_end, "aws_access_key_id")) {
            dst = id;
            dstlen = sizeof(id);
        } else if (s_span_equals(key, key_end, "aws_secret_access_key")) {
            dst = secret;
            dstlen = sizeof(secret);
        } else if (s_span_equals(key, key_end, "aws_session_token") ||
                   s_span_equals(key, key_end, "aws_security_token")) {
            dst = token;
            dstlen = sizeof(token);
        }
        if (!dst)
            continue;
        size_t n = (size_t)(val_end - val);
        if (n >= dstlen) {
            snprintf(err, errlen, "AWS credentials file: a value in profile %s is too long",
                     profile);
            return -1;
        }
        memcpy(dst, val, n);
        dst[n] = '\0';
    }
    if (!id[0] || !secret[0])
        return 1;
    return s_creds_set(creds, "credentials file", id, secret, token, err, errlen);
}

const char *aws_credentials_location(char *path, size_t pathlen)
{
    const char *file = s_env("AWS_SHARED_CREDENTIALS_FILE");
    const char *home = s_env("HOME");
    int n;
    if (file && strncmp(file, "~/", 2) == 0) {
        if (!home)
            return NULL;
        n = snprintf(path, pathlen, "%s/%s", home, file + 2);
    } else if (file) {
        n = snprintf(path, pathlen, "%s", file);
    } else {
        if (!home)
            return NULL;
        n = snprintf(path, pathlen, "%s/.aws/credentials", home);
    }
    if (n < 0 || (size_t)n >= pathlen)
        return NULL;
    const char *profile = s_env("AWS_PROFILE");
    return profile ? profile : "default";
}

/* Reads a whole file into a malloc'd NUL-terminated buffer; NULL with errno
 * set (EFBIG when over the limit). Sized by fstat, as it runs per call. */
static char *s_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    char *buf = NULL;
    int e = 0;
    if (fstat(fileno(f), &st) != 0) {
        e = errno;
    } else if (st.st_size > AWS_CREDENTIALS_FILE_MAX) {
        e = EFBIG;
    } else if (!(buf = malloc((size_t)st.st_size + 1))) {
        e = ENOMEM;
    } else {
        size_t n = fread(buf, 1, (size_t)st.st_size, f);
        if (ferror(f)) {
            e = EIO;
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(f);
    if (!buf)
        errno = e;
    return buf;
}

/* ---- role credentials: container endpoint and EC2 instance metadata ---- */

/* Answers bigger than this are refused; real ones are ~1.5 KiB. */
#define AWS_ROLE_ANSWER_MAX (64 * 1024)
#define AWS_ROLE_CONNECT_TIMEOUT_MS 1000L
#define AWS_ROLE_TIMEOUT_MS 2000L
/* Lifetime asked of an IMDSv2 session token; we fetch a new one per fetch. */
#define AWS_IMDS_TOKEN_TTL "21600"

/* A fetch that failed only after this long (an endpoint that does not
 * answer: no metadata service on this host, a dropped route) is not tried
 * again for AWS_ROLE_QUIET_MS. Each fetch blocks the worker's loop, so
 * retrying it on every call would stall every other call of the worker;
 * fast failures (an HTTP error, a refused connection) are retried at once. */
#define AWS_ROLE_SLOW_FAIL_MS 500
#define AWS_ROLE_QUIET_MS 30000

struct aws_creds_cache_s {
    bool valid;
    time_t expires;
    aws_creds_t creds;
    int64_t quiet_until_ms; /* clock_mono_ms(); 0 = no slow failure pending */
    char quiet_why[768];    /* the slow failure, repeated to the calls meanwhile */
};

/* Set once by workers/main.c (see the header); read by the worker thread. */
static aws_creds_cache_t *s_cache;

aws_creds_cache_t *aws_creds_cache_new(void)
{
    return calloc(1, sizeof(aws_creds_cache_t));
}

void aws_creds_cache_destroy(aws_creds_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if (s_cache == *self_p)
        s_cache = NULL;
    memset(*self_p, 0, sizeof(**self_p));
    free(*self_p);
    *self_p = NULL;
}

void aws_creds_cache_install(aws_creds_cache_t *self)
{
    s_cache = self;
}

static bool s_digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

int aws_rfc3339_parse(const char *text, time_t *out)
{
    int year, mon, day, hour, min, sec;
    const char *p = text;
    if (!text || strlen(text) < 20 || !s_digits(p, 4, &year) || p[4] != '-' ||
        !s_digits(p + 5, 2, &mon) || p[7] != '-' || !s_digits(p + 8, 2, &day) ||
        (p[10] != 'T' && p[10] != 't' && p[10] != ' ') || !s_digits(p + 11, 2, &hour) ||
        p[13] != ':' || !s_digits(p + 14, 2, &min) || p[16] != ':' || !s_digits(p + 17, 2, &sec))
        return -1;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
        return -1;
    p += 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!s_digits(p + 1, 2, &oh) || p[3] != ':' || !s_digits(p + 4, 2, &om) || oh > 23 ||
            om > 59)
            return -1;
        offset = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {.tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day,
                    .tm_hour = hour, .tm_min = min, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = t - offset;
    return 0;
}

int aws_role_creds_parse(const char *body, size_t len, const char *source, aws_creds_t *creds,
                         time_t *expires, char *err, size_t errlen)
{
    int rc = -1;
    *expires = 0;
    cJSON *root = len ? cJSON_ParseWithLength(body, len) : NULL;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "AWS %s answer is not a JSON object", source);
        goto done;
    }
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(root, "Code");
    if (code && (!cJSON_IsString(code) || strcmp(code->valuestring, "Success") != 0)) {
        const char *msg = s_field(root, "Message");
        snprintf(err, errlen, "AWS %s answered Code %.64s%s%.200s", source,
                 cJSON_IsString(code) ? code->valuestring : "(not a string)", msg ? ": " : "",
                 msg ? msg : "");
        goto done;
    }
    const char *id = s_field(root, "AccessKeyId");
    const char *secret = s_field(root, "SecretAccessKey");
    if (!id || !secret) {
        snprintf(err, errlen, "AWS %s answer has no AccessKeyId and SecretAccessKey", source);
        goto done;
    }
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(root, "Expiration");
    if (exp && (!cJSON_IsString(exp) || aws_rfc3339_parse(exp->valuestring, expires) != 0)) {
        snprintf(err, errlen, "AWS %s answer has an Expiration that is not an RFC 3339 time",
                 source);
        goto done;
    }
    rc = s_creds_set(creds, source, id, secret, s_field(root, "Token"), err, errlen);
done:
    cJSON_Delete(root);
    if (rc != 0)
        *expires = 0;
    return rc;
}

bool aws_role_creds_fresh(time_t expires, time_t now)
{
    return expires != 0 && now < expires - AWS_ROLE_REFRESH_MARGIN_S;
}

bool aws_container_url_allowed(const char *url)
{
    bool ok = false;
    char *scheme = NULL, *host = NULL;
    CURLU *u = curl_url();
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto done;
    if (strcasecmp(scheme, "https") == 0) {
        ok = true;
    } else if (strcasecmp(scheme, "http") == 0) {
        struct in_addr a4;
        if (inet_pton(AF_INET, host, &a4) == 1) {
            uint32_t ip = ntohl(a4.s_addr);
            ok = (ip >> 24) == 127 || ip == 0xA9FEAA02u /* 169.254.170.2 */ ||
                 ip == 0xA9FEAA17u /* 169.254.170.23 */;
        } else {
            ok = strcmp(host, "[::1]") == 0;
        }
    }
done:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

typedef struct {
    char *data;
    size_t len;
    bool too_big;
} s_answer_t;

static size_t s_answer_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    s_answer_t *a = arg;
    size_t n = size * nmemb;
    if (a->len + n > AWS_ROLE_ANSWER_MAX) {
        a->too_big = true;
        return 0;
    }
    char *grown = realloc(a->data, a->len + n + 1);
    if (!grown)
        return 0;
    a->data = grown;
    memcpy(a->data + a->len, ptr, n);
    a->len += n;
    a->data[a->len] = '\0';
    return n;
}

/* One blocking request to a credentials endpoint: method "GET" or "PUT"
 * (empty body), header lines (may be NULL). On 200 returns 0 with the
 * malloc'd body in *body (caller frees); else -1 with a reason naming
 * source and what (the URL's role) in err. Blocking is acceptable: it
 * happens once per credentials lifetime (hours), under tight timeouts. */
static int s_role_fetch(const char *source, const char *url, const char *method,
                        struct curl_slist *headers, char **body, size_t *len, char *err,
                        size_t errlen)
{
    s_answer_t a = {0};
    long status = 0;
    CURL *easy = curl_easy_init();
    if (!easy) {
        snprintf(err, errlen, "AWS %s: libcurl failed to start", source);
        return -1;
    }
    int rc = -1;
    CURLcode cc;
    if (curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
        snprintf(err, errlen, "AWS %s: URL %s rejected by libcurl", source, url);
        goto done;
    }
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, AWS_ROLE_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, AWS_ROLE_TIMEOUT_MS);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, s_answer_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &a);
    if (headers)
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, 0L);
    }
    cc = curl_easy_perform(easy);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "AWS %s: %s %s failed: %s", source, method, url,
                 a.too_big ? "answer too large" : curl_easy_strerror(cc));
        goto done;
    }
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        snprintf(err, errlen, "AWS %s: %s %s answered HTTP %ld", source, method, url, status);
        goto done;
    }
    *body = a.data ? a.data : strdup("");
    *len = a.len;
    a.data = NULL;
    rc = *body ? 0 : -1;
    if (rc != 0)
        snprintf(err, errlen, "AWS %s: out of memory", source);
done:
    free(a.data);
    curl_easy_cleanup(easy);
    return rc;
}

static int s_add_header(struct curl_slist **headers, const char *name, const char *value);
static bool s_endpoint_valid(const char *url);

/* Reads the container authorization token: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 * (re-read on each fetch, as EKS rotates it), else
 * AWS_CONTAINER_AUTHORIZATION_TOKEN. Returns 0 with token ("" for none),
 * or -1 with err. */
static int s_container_token(char *token, size_t tokenlen, char *err, size_t errlen)
{
    const char *file = s_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *value = s_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char buf[AWS_CRED_MAX];
    token[0] = '\0';
    if (file) {
        FILE *f = fopen(file, "rb");
        if (!f) {
            snprintf(err, errlen,
                     "AWS container credentials: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s "
                     "cannot be read (%s)",
                     file, strerror(errno));
            return -1;
        }
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
            buf[--n] = '\0';
        value = buf;
    }
    if (!value)
        return 0;
    /* It becomes an Authorization header line: nothing that could split it. */
    for (const char *p = value; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) {
            snprintf(err, errlen, "AWS container credentials: the authorization token holds "
                                  "control characters");
            return -1;
        }
    }
    if (strlen(value) >= tokenlen) {
        snprintf(err, errlen, "AWS container credentials: the authorization token is too long");
        return -1;
    }
    strcpy(token, value);
    return 0;
}

static int s_container_creds(aws_creds_t *creds, time_t *expires, char *err, size_t errlen)
{
    const char *source = "container credentials";
    const char *full = s_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *rel = s_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    char url[2048];
    /* The relative URI wins, as in the SDKs: it can only reach the ECS agent. */
    if (rel) {
        int n = snprintf(url, sizeof(url), "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/",
                         rel);
        if (n < 0 || (size_t)n >= sizeof(url)) {
            snprintf(err, errlen, "AWS container credentials: "
                                  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is too long");
            return -1;
        }
    } else {
        if (strlen(full) >= sizeof(url)) {
            snprintf(err, errlen,
                     "AWS container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI is too long");
            return -1;
        }
        if (!aws_container_url_allowed(full)) {
            snprintf(err, errlen,
                     "AWS container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI must be "
                     "https, or http to 127.0.0.0/8, [::1], 169.254.170.2 or 169.254.170.23");
            return -1;
        }
        strcpy(url, full);
    }
    char *token = malloc(AWS_CRED_MAX);
    struct curl_slist *headers = NULL;
    char *body = NULL;
    size_t len = 0;
    int rc = -1;
    if (!token) {
        snprintf(err, errlen, "AWS %s: out of memory", source);
        return -1;
    }
    if (s_container_token(token, AWS_CRED_MAX, err, errlen) != 0)
        goto done;
    if (token[0] && s_add_header(&headers, "Authorization", token) != 0) {
        snprintf(err, errlen, "AWS %s: out of memory", source);
        goto done;
    }
    if (s_role_fetch(source, url, "GET", headers, &body, &len, err, errlen) != 0)
        goto done;
    rc = aws_role_creds_parse(body, len, source, creds, expires, err, errlen);
done:
    curl_slist_free_all(headers);
    memset(token, 0, AWS_CRED_MAX);
    free(token);
    if (body) {
        memset(body, 0, len);
        free(body);
    }
    return rc;
}

static int s_imds_creds(aws_creds_t *creds, time_t *expires, char *err, size_t errlen)
{
    const char *source = "EC2 instance metadata";
    const char *endpoint = s_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char base[1024], url[2048], header[1200];
    if (!endpoint)
        endpoint = "http://169.254.169.254";
    size_t n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/')
        n--;
    if (n >= sizeof(base) || !s_endpoint_valid(endpoint)) {
        snprintf(err, errlen, "AWS %s: AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http URL",
                 source);
        return -1;
    }
    memcpy(base, endpoint, n);
    base[n] = '\0';

    struct curl_slist *headers = NULL;
    char *token = NULL, *role = NULL, *body = NULL;
    size_t len = 0;
    int rc = -1;
    headers = curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds: " AWS_IMDS_TOKEN_TTL);
    snprintf(url, sizeof(url), "%s/latest/api/token", base);
    if (!headers || s_role_fetch(source, url, "PUT", headers, &token, &len, err, errlen) != 0)
        goto done;
    curl_slist_free_all(headers);
    headers = NULL;
    if (!len || len >= 1024 || !s_cred_valid(token)) {
        snprintf(err, errlen, "AWS %s: the session token answer is not a token", source);
        goto done;
    }
    snprintf(header, sizeof(header), "X-aws-ec2-metadata-token: %s", token);
    if (!(headers = curl_slist_append(NULL, header)))
        goto oom;
    snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", base);
    if (s_role_fetch(source, url, "GET", headers, &role, &len, err, errlen) != 0)
        goto done;
    /* One role per instance profile; the first line names it. */
    role[strcspn(role, "\r\n")] = '\0';
    if (!role[0] || strlen(role) > 128 || strspn(role, "abcdefghijklmnopqrstuvwxyz"
                                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "0123456789+=,.@_-") != strlen(role)) {
        snprintf(err, errlen, "AWS %s: no IAM role name (is an instance profile attached?)",
                 source);
        goto done;
    }
    snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", base, role);
    if (s_role_fetch(source, url, "GET", headers, &body, &len, err, errlen) != 0)
        goto done;
    rc = aws_role_creds_parse(body, len, source, creds, expires, err, errlen);
    goto done;
oom:
    snprintf(err, errlen, "AWS %s: out of memory", source);
done:
    curl_slist_free_all(headers);
    free(token);
    free(role);
    if (body) {
        memset(body, 0, len);
        free(body);
    }
    return rc;
}

/* The role source the environment selects, after the static ones. */
static int s_role_creds(aws_creds_t *creds, const char *why_none, char *err, size_t errlen)
{
    bool container = s_env("AWS_CONTAINER_CREDENTIALS_FULL_URI") ||
                     s_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *disabled = s_env("AWS_EC2_METADATA_DISABLED");
    if (!container && disabled && strcasecmp(disabled, "true") == 0) {
        snprintf(err, errlen, "no AWS credentials: %s", why_none);
        return -1;
    }
    time_t now = time(NULL);
    if (s_cache && s_cache->valid && aws_role_creds_fresh(s_cache->expires, now)) {
        *creds = s_cache->creds;
        return 0;
    }
    int64_t started = clock_mono_ms();
    if (s_cache && started < s_cache->quiet_until_ms) {
        snprintf(err, errlen, "no AWS credentials: %s (not asked again for %lld s); %s",
                 s_cache->quiet_why, (long long)(s_cache->quiet_until_ms - started + 999) / 1000,
                 why_none);
        return -1;
    }
    time_t expires = 0;
    char why[768];
    int rc = container ? s_container_creds(creds, &expires, why, sizeof(why))
                       : s_imds_creds(creds, &expires, why, sizeof(why));
    if (rc != 0) {
        /* Not cached as credentials: the next call tries again, at once
         * after a fast failure, after AWS_ROLE_QUIET_MS after a slow one. */
        int64_t ended = clock_mono_ms();
        if (s_cache && ended - started >= AWS_ROLE_SLOW_FAIL_MS) {
            s_cache->quiet_until_ms = ended + AWS_ROLE_QUIET_MS;
            snprintf(s_cache->quiet_why, sizeof(s_cache->quiet_why), "%s", why);
        }
        snprintf(err, errlen, "no AWS credentials: %s; %s", why, why_none);
        return -1;
    }
    if (s_cache) {
        s_cache->valid = aws_role_creds_fresh(expires, now);
        s_cache->expires = expires;
        s_cache->creds = *creds;
    }
    return 0;
}

/* The shared credentials file: 0 found, 1 none (reason in err), -1 a bad
 * file (reason in err). */
static int s_file_creds(aws_creds_t *creds, char *err, size_t errlen)
{
    char path[4096];
    const char *profile = aws_credentials_location(path, sizeof(path));
    if (!profile) {
        snprintf(err, errlen,
                 "none in the provider or environment, and no HOME or "
                 "AWS_SHARED_CREDENTIALS_FILE to find a credentials file");
        return 1;
    }
    char *text = s_read_file(path);
    if (!text) {
        snprintf(err, errlen,
                 "none in the provider or environment, and credentials file %s cannot be read "
                 "(%s)",
                 path, strerror(errno));
        return 1;
    }
    int rc = aws_credentials_parse(text, profile, creds, err, errlen);
    free(text);
    if (rc > 0)
        snprintf(err, errlen, "profile %s in %s has no aws_access_key_id and aws_secret_access_key",
                 profile, path);
    return rc;
}

int aws_credentials_resolve(const cJSON *provider, aws_creds_t *creds, char *err, size_t errlen)
{
    const char *id = s_field(provider, "awsAccessKeyId");
    const char *secret = s_field(provider, "awsSecretAccessKey");
    if (id && secret)
        return s_creds_set(creds, "provider", id, secret, s_field(provider, "awsSessionToken"),
                           err, errlen);
    if (id || secret) {
        /* Half a key pair is a configuration mistake; falling back to other
         * credentials would call AWS as someone else. */
        snprintf(err, errlen, "function provider has %s without %s",
                 id ? "awsAccessKeyId" : "awsSecretAccessKey",
                 id ? "awsSecretAccessKey" : "awsAccessKeyId");
        return -1;
    }
    id = s_env("AWS_ACCESS_KEY_ID");
    secret = s_env("AWS_SECRET_ACCESS_KEY");
    if (id && secret)
        return s_creds_set(creds, "environment", id, secret, s_env("AWS_SESSION_TOKEN"), err,
                           errlen);

    char why_none[4400];
    int rc = s_file_creds(creds, why_none, sizeof(why_none));
    if (rc <= 0) {
        if (rc < 0)
            snprintf(err, errlen, "%s", why_none);
        return rc;
    }
    return s_role_creds(creds, why_none, err, errlen);
}

bool aws_region_valid(const char *region)
{
    size_t n = region ? strlen(region) : 0;
    if (n == 0 || n > 32 || region[0] == '-' || region[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = region[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

/* An override must be an http(s) URL without spaces or control characters
 * (it becomes the request URL and, through Host, part of the signature). */
static bool s_endpoint_valid(const char *url)
{
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return false;
    const char *host = url + (url[4] == ':' ? 7 : 8);
    if (!*host || *host == '/')
        return false;
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return false;
    }
    return true;
}

int aws_endpoint(const aws_service_t *svc, const cJSON *provider, const char *region, char *url,
                 size_t urllen, char *err, size_t errlen)
{
    char egw_name[64], aws_name[64];
    snprintf(egw_name, sizeof(egw_name), "EGW_AWS_%s_ENDPOINT", svc->env_suffix);
    snprintf(aws_name, sizeof(aws_name), "AWS_ENDPOINT_URL_%s", svc->env_suffix);
    const struct {
        const char *value, *origin;
    } candidates[] = {
        {s_field(provider, "endpoint"), "provider endpoint"},
        {s_env(egw_name), egw_name},
        {s_env("EGW_AWS_ENDPOINT"), "EGW_AWS_ENDPOINT"},
        {s_env(aws_name), aws_name},
        {s_env("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"},
    };
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        const char *v = candidates[i].value;
        if (!v)
            continue;
        if (!s_endpoint_valid(v)) {
            snprintf(err, errlen, "%s is not an http or https URL", candidates[i].origin);
            return -1;
        }
        size_t n = strlen(v);
        while (n > 0 && v[n - 1] == '/')
            n--;
        if (n >= urllen) {
            snprintf(err, errlen, "%s is too long", candidates[i].origin);
            return -1;
        }
        memcpy(url, v, n);
        url[n] = '\0';
        return 0;
    }
    int n = snprintf(url, urllen, "https://%s.%s.amazonaws.com", svc->signing_name, region);
    if (n < 0 || (size_t)n >= urllen) {
        snprintf(err, errlen, "AWS endpoint URL too long");
        return -1;
    }
    return 0;
}

static int s_add_header(struct curl_slist **headers, const char *name, const char *value)
{
    char line[AWS_CRED_MAX + 64];
    snprintf(line, sizeof(line), "%s: %s", name, value);
    struct curl_slist *h = curl_slist_append(*headers, line);
    if (!h)
        return -1;
    *headers = h;
    return 0;
}

int aws_prepare(CURL *easy, const aws_service_t *svc, const cJSON *provider, const char *path,
                const char *body, size_t len, int copy_body, struct curl_slist **headers,
                char *err, size_t errlen)
{
    const char *region = s_field(provider, "region");
    if (!region) {
        snprintf(err, errlen, "function provider has no region");
        return -1;
    }
    if (!aws_region_valid(region)) {
        snprintf(err, errlen, "function provider region is not an AWS region name");
        return -1;
    }
    char base[2048];
    if (aws_endpoint(svc, provider, region, base, sizeof(base), err, errlen) != 0)
        return -1;
    aws_creds_t *creds = malloc(sizeof(*creds));
    if (!creds) {
        snprintf(err, errlen, "out of memory preparing the call");
        return -1;
    }
    int rc = -1;
    if (aws_credentials_resolve(provider, creds, err, errlen) != 0)
        goto done;

    char url[4096], sigv4[128];
    int n = snprintf(url, sizeof(url), "%s%s", base, path);
    if (n < 0 || (size_t)n >= sizeof(url)) {
        snprintf(err, errlen, "AWS request URL too long");
        goto done;
    }
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:%s", region, svc->signing_name);
    if (s_add_header(headers, "Content-Type", svc->content_type) != 0 ||
        (svc->target && s_add_header(headers, "X-Amz-Target", svc->target) != 0) ||
        (creds->session_token[0] &&
         s_add_header(headers, "X-Amz-Security-Token", creds->session_token) != 0)) {
        snprintf(err, errlen, "out of memory preparing the call");
        goto done;
    }
    /* POSTFIELDSIZE must precede COPYPOSTFIELDS, which copies that many bytes. */
    if (curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
        curl_easy_setopt(easy, copy_body ? CURLOPT_COPYPOSTFIELDS : CURLOPT_POSTFIELDS, body) !=
            CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, sigv4) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_USERNAME, creds->access_key_id) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_PASSWORD, creds->secret_access_key) != CURLE_OK) {
        snprintf(err, errlen, "AWS request rejected by libcurl (URL %s)", url);
        goto done;
    }
    rc = 0;
done:
    /* The secret stays only in curl's copy. */
    memset(creds, 0, sizeof(*creds));
    free(creds);
    return rc;
}

/* Copies a JSON string member, or "" when absent. */
static void s_json_text(const cJSON *obj, const char *name, char *out, size_t outlen)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    snprintf(out, outlen, "%s", cJSON_IsString(item) ? item->valuestring : "");
}

/* The error code of an AWS error answer, without namespace, into type:
 * from x-amzn-ErrorType ("ResourceNotFoundException:http://..."), else the
 * JSON body's __type ("com.amazonaws.sqs#QueueDoesNotExist"); and its
 * message into message. Either may come out "". */
static void s_error_details(CURL *easy, const char *body, size_t len, char *type, size_t typelen,
                            char *message, size_t messagelen)
{
    char raw[128] = "";
    message[0] = '\0';
    struct curl_header *h = NULL;
    if (curl_easy_header(easy, "x-amzn-ErrorType", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h)
        snprintf(raw, sizeof(raw), "%s", h->value);
    cJSON *root = len ? cJSON_ParseWithLength(body, len) : NULL;
    if (cJSON_IsObject(root)) {
        if (!raw[0])
            s_json_text(root, "__type", raw, sizeof(raw));
        s_json_text(root, "message", message, messagelen);
        if (!message[0])
            s_json_text(root, "Message", message, messagelen);
    }
    cJSON_Delete(root);
    char *cut = strchr(raw, ':');
    if (cut)
        *cut = '\0';
    const char *hash = strrchr(raw, '#');
    snprintf(type, typelen, "%s", hash ? hash + 1 : raw);
}

int aws_check_status(const aws_service_t *svc, CURL *easy, long http_status, const char *body,
                     size_t len, char *err, size_t errlen)
{
    if (http_status >= 200 && http_status <= 299)
        return 0;
    char type[128], message[256];
    s_error_details(easy, body, len, type, sizeof(type), message, sizeof(message));
    snprintf(err, errlen, "AWS %s answered HTTP %ld%s%s%s%s", svc->signing_name, http_status,
             type[0] ? ": " : "", type, message[0] ? ": " : "", message);
    return -1;
}

bool aws_error_is_transient(const char *type)
{
    static const char *const transient[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "LimitExceededException",
        "KMSThrottlingException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
    };
    const char *hash = strrchr(type, '#');
    const char *code = hash ? hash + 1 : type;
    /* SQS's query-style codes carry a dotted prefix (AWS.SimpleQueueService.X). */
    const char *dot = strrchr(code, '.');
    if (dot)
        code = dot + 1;
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
        if (strcmp(code, transient[i]) == 0)
            return true;
    }
    return false;
}

int aws_failure_status(CURL *easy, long http_status, const char *body, size_t len)
{
    if (http_status < 400 || http_status >= 500 || http_status == 429)
        return (int)http_status;
    char type[128], message[8];
    s_error_details(easy, body, len, type, sizeof(type), message, sizeof(message));
    return aws_error_is_transient(type) ? 429 : (int)http_status;
}

char *aws_base64(const char *data, size_t len)
{
    return base64_encode_alloc((const uint8_t *)data, len);
}

char *aws_connector_reply(const char *body, size_t len, size_t *reply_len)
{
    char *text = malloc(len + 1);
    cJSON *root = cJSON_CreateObject();
    cJSON *headers = cJSON_CreateObject();
    char *out = NULL;
    if (!text || !root || !headers ||
        !cJSON_AddStringToObject(headers, "Content-Type", "application/json") ||
        !cJSON_AddItemToObject(root, "headers", headers)) {
        cJSON_Delete(headers);
        goto done;
    }
    /* headers belongs to root from here. */
    memcpy(text, body, len);
    text[len] = '\0';
    if (!cJSON_AddNumberToObject(root, "statusCode", 200) ||
        !cJSON_AddStringToObject(root, "body", text))
        goto done;
    out = cJSON_PrintUnformatted(root);
    if (out)
        *reply_len = strlen(out);
done:
    cJSON_Delete(root);
    free(text);
    return out;
}

char *aws_print_body(cJSON *root, char *err, size_t errlen)
{
    char *out = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!out)
        snprintf(err, errlen, "out of memory preparing the call");
    return out;
}
