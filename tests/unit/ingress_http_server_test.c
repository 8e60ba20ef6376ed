/* In-process test of ingress/http_server.c and router_link.c on 127.0.0.1:
 * the server loop runs in one thread, a fake router (a ZeroMQ ROUTER that
 * answers by path) in another, and libcurl plays the client. Checks the
 * REPLY path, 400/413/503 answers, the timeout backstop, that broken and
 * duplicate REPLYs are dropped, keep-alive, CloudEvents batches, and a
 * clean stop. */
#include "http_server.h"
#include "router_link.h"

#include "egw/log.h"
#include "egw/wire.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"

typedef struct {
    void *ctx;
    void *router;
    volatile int stop;
} fake_router_t;

static void s_send_reply(void *sock, zmq_msg_t *id, uint64_t corr, int status, const char *body)
{
    wire_hdr_t r = {0};
    r.type = WIRE_REPLY;
    r.corr = corr;
    r.status = status;
    wire_kvs_add(&r.headers, "X-Test", "yes");
    if (status == 503)
        wire_kvs_add(&r.headers, "Retry-After", "1");
    wire_kvs_add(&r.headers, "Content-Length", "999"); /* must be ignored */
    char *h;
    size_t h_len;
    if (wire_hdr_encode(&r, &h, &h_len) == 0) {
        zmq_msg_t copy;
        zmq_msg_init(&copy);
        zmq_msg_copy(&copy, id);
        zmq_msg_send(&copy, sock, ZMQ_SNDMORE);
        zmq_send(sock, h, h_len, ZMQ_SNDMORE);
        zmq_send(sock, body, strlen(body), 0);
        free(h);
    }
    wire_hdr_clear(&r);
}

/* Answers each EVENT according to its path:
 *   /slow  never; /bad  a malformed header frame, then nothing;
 *   /twice two REPLYs (the second must be ignored);
 *   event types refuse.* get a 503 error body, never.* no REPLY (batches);
 *   anything else 200 with "<event_type> <path> <payload kind> <query count>". */
static void *s_router_main(void *arg)
{
    fake_router_t *fr = arg;
    while (!fr->stop) {
        zmq_pollitem_t item = {fr->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) <= 0)
            continue;
        zmq_msg_t id, h, b;
        zmq_msg_init(&id);
        zmq_msg_init(&h);
        zmq_msg_init(&b);
        zmq_msg_recv(&id, fr->router, 0);
        zmq_msg_recv(&h, fr->router, 0);
        zmq_msg_recv(&b, fr->router, 0);
        wire_hdr_t hdr;
        wire_payload_t p;
        if (wire_hdr_decode(zmq_msg_data(&h), zmq_msg_size(&h), &hdr) == 0) {
            if (wire_payload_decode(zmq_msg_data(&b), zmq_msg_size(&b), &p) == 0) {
                char body[512];
                snprintf(body, sizeof body, "%s %s %d %zu", hdr.event_type, hdr.path, p.kind,
                         p.query.count);
                if (strcmp(hdr.path, "/bad") == 0) {
                    zmq_msg_send(&id, fr->router, ZMQ_SNDMORE);
                    zmq_send(fr->router, "\xc1junk", 5, ZMQ_SNDMORE);
                    zmq_send(fr->router, "", 0, 0);
                } else if (strncmp(hdr.event_type, "never.", 6) == 0) {
                    /* no REPLY */
                } else if (strncmp(hdr.event_type, "refuse.", 7) == 0) {
                    s_send_reply(fr->router, &id, hdr.corr, 503,
                                 "{\"errors\":[{\"message\":\"event backlog is full\"}]}");
                } else if (strcmp(hdr.path, "/slow") != 0) {
                    s_send_reply(fr->router, &id, hdr.corr, 200, body);
                    if (strcmp(hdr.path, "/twice") == 0)
                        s_send_reply(fr->router, &id, hdr.corr, 201, "again");
                }
                wire_payload_clear(&p);
            }
            wire_hdr_clear(&hdr);
        }
        zmq_msg_close(&id);
        zmq_msg_close(&h);
        zmq_msg_close(&b);
    }
    return NULL;
}

typedef struct {
    http_server_t *server;
    int stop_fd;
    int rc;
} server_thread_t;

static void *s_server_main(void *arg)
{
    server_thread_t *st = arg;
    st->rc = http_server_run(st->server, st->stop_fd);
    return NULL;
}

typedef struct {
    char data[4096];
    size_t len;
} buf_t;

static size_t s_collect(char *ptr, size_t size, size_t n, void *userdata)
{
    buf_t *b = userdata;
    size_t len = size * n;
    if (len > sizeof b->data - 1 - b->len)
        len = sizeof b->data - 1 - b->len;
    memcpy(b->data + b->len, ptr, len);
    b->len += len;
    b->data[b->len] = '\0';
    return size * n;
}

/* One request on a shared easy handle (so keep-alive is exercised).
 * Returns the status; body and headers go to the buffers. */
static long s_request(CURL *curl, int port, const char *method, const char *path,
                      struct curl_slist *headers, const char *body, size_t body_len, buf_t *out,
                      buf_t *out_headers)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    memset(out, 0, sizeof *out);
    memset(out_headers, 0, sizeof *out_headers);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, s_collect);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out_headers);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    if (curl_easy_perform(curl) != CURLE_OK)
        return -1;
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* A batch body of CloudEvents 1.0 with these types. */
static void s_batch_body(char *out, size_t len, const char *const *types, size_t n)
{
    size_t o = (size_t)snprintf(out, len, "[");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, len - o,
                              "%s{\"specversion\":\"1.0\",\"id\":\"b%zu\",\"source\":\"/s\",\"type\":\"%s\"}",
                              i ? "," : "", i, types[i]);
    snprintf(out + o, len - o, "]");
}

/* CloudEvents batches, on a second server with room for their bodies and
 * its own DEALER: 202 once every event is accepted, the lowest-index
 * refusal otherwise (with its headers), the deadline when a REPLY never
 * comes, and nothing left behind for late REPLYs. */
static void s_test_batches(const char *endpoint, CURL *curl)
{
    router_link_t *link = router_link_new(endpoint);
    http_server_options_t opts = {
        .bind_address = "127.0.0.1", .port = 0, .body_limit = 8192, .request_timeout_ms = 300};
    http_server_t *server = link ? http_server_new(&opts, link) : NULL;
    CHECK(server != NULL);
    if (!server) {
        router_link_destroy(&link);
        return;
    }
    int port = http_server_port(server);
    int stop_pipe[2];
    if (pipe(stop_pipe) < 0)
        return;
    server_thread_t st = {server, stop_pipe[0], -1};
    pthread_t thread;
    pthread_create(&thread, NULL, s_server_main, &st);
    buf_t body, hdrs;
    long status = 503;
    for (int i = 0; i < 100 && status == 503; i++) {
        status = s_request(curl, port, "GET", "/", NULL, NULL, 0, &body, &hdrs);
        if (status == 503)
            usleep(20 * 1000);
    }
    CHECK(status == 200);

    struct curl_slist *batch =
        curl_slist_append(NULL, "Content-Type: application/cloudevents-batch+json");
    char text[2048];
    static const char *const all_ok[] = {"a.x", "b.x", "c.x"};
    s_batch_body(text, sizeof text, all_ok, 3);
    CHECK(s_request(curl, port, "POST", "/", batch, text, strlen(text), &body, &hdrs) == 202);
    CHECK(body.len == 0);
    CHECK(strstr(hdrs.data, "X-Test: yes") != NULL); /* REPLY 0's headers (CORS) */

    static const char *const refused[] = {"a.x", "refuse.x", "refuse.y", "d.x"};
    s_batch_body(text, sizeof text, refused, 4);
    CHECK(s_request(curl, port, "POST", "/", batch, text, strlen(text), &body, &hdrs) == 503);
    CHECK(strstr(body.data, "CloudEvents batch event 1 was not accepted (503: event backlog is "
                            "full); 2 of 4 events were not") != NULL);
    CHECK(strstr(hdrs.data, "Retry-After: 1") != NULL);
    CHECK(strstr(hdrs.data, "Content-Type: application/json") != NULL);

    static const char *const lost[] = {"a.x", "never.x"};
    s_batch_body(text, sizeof text, lost, 2);
    CHECK(s_request(curl, port, "POST", "/", batch, text, strlen(text), &body, &hdrs) == 500);
    CHECK(strstr(body.data, "request timed out") != NULL);

    static const char *const bad[] = {"a.x", ""};
    s_batch_body(text, sizeof text, bad, 2);
    CHECK(s_request(curl, port, "POST", "/", batch, text, strlen(text), &body, &hdrs) == 400);
    CHECK(strstr(body.data, "CloudEvents batch event 1: CloudEvent attribute \\\"type\\\" must not "
                            "be empty") != NULL);
    CHECK(s_request(curl, port, "POST", "/", batch, "[]", 2, &body, &hdrs) == 202);
    /* a batch of one is still answered as a batch */
    s_batch_body(text, sizeof text, all_ok, 1);
    CHECK(s_request(curl, port, "POST", "/", batch, text, strlen(text), &body, &hdrs) == 202);
    CHECK(s_request(curl, port, "GET", "/after", NULL, NULL, 0, &body, &hdrs) == 200);
    CHECK(strcmp(body.data, "http.request /after 1 0") == 0);

    CHECK(write(stop_pipe[1], "x", 1) == 1);
    pthread_join(thread, NULL);
    CHECK(st.rc == 0);
    curl_slist_free_all(batch);
    http_server_destroy(&server);
    router_link_destroy(&link);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
}

int main(void)
{
    log_init("ingress-test", LOG_LEVEL_ERROR);
    fake_router_t fr = {0};
    fr.ctx = zmq_ctx_new();
    fr.router = zmq_socket(fr.ctx, ZMQ_ROUTER);
    if (zmq_bind(fr.router, "tcp://127.0.0.1:*") < 0) {
        fprintf(stderr, "cannot bind a ROUTER on 127.0.0.1\n");
        return 77;
    }
    char endpoint[256];
    size_t ep_len = sizeof endpoint;
    zmq_getsockopt(fr.router, ZMQ_LAST_ENDPOINT, endpoint, &ep_len);

    router_link_t *link = router_link_new(endpoint);
    CHECK(link != NULL);
    http_server_options_t opts = {
        .bind_address = "127.0.0.1",
        .port = 0,
        .body_limit = 100,
        .request_timeout_ms = 300,
    };
    http_server_t *server = http_server_new(&opts, link);
    if (!link || !server) {
        fprintf(stderr, "cannot start the server\n");
        return 1;
    }
    int port = http_server_port(server);
    CHECK(port > 0);
    int stop_pipe[2];
    if (pipe(stop_pipe) < 0)
        return 1;
    server_thread_t st = {server, stop_pipe[0], -1};
    pthread_t router_thread, server_thread;
    pthread_create(&router_thread, NULL, s_router_main, &fr);
    pthread_create(&server_thread, NULL, s_server_main, &st);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    buf_t body, hdrs;

    /* Until the DEALER has connected, ZMQ_IMMEDIATE makes ingress answer 503. */
    long status = 503;
    for (int i = 0; i < 100 && status == 503; i++) {
        status = s_request(curl, port, "GET", "/", NULL, NULL, 0, &body, &hdrs);
        if (status == 503) {
            CHECK(strstr(body.data, "router unavailable") != NULL);
            usleep(20 * 1000);
        }
    }
    CHECK(status == 200);

    /* http.request, REPLY headers and body passed through, Content-Length fixed by MHD */
    CHECK(s_request(curl, port, "GET", "/users/10?a=1&a=2", NULL, NULL, 0, &body, &hdrs) == 200);
    CHECK(strcmp(body.data, "http.request /users/10 1 2") == 0);
    CHECK(strstr(hdrs.data, "X-Test: yes") != NULL);
    CHECK(strstr(hdrs.data, "Content-Length: 26") != NULL);

    /* structured CloudEvent */
    struct curl_slist *ce = curl_slist_append(NULL, "Content-Type: application/cloudevents+json");
    const char *event = "{\"eventType\":\"user.created\",\"cloudEventsVersion\":\"0.1\","
                        "\"source\":\"s\",\"eventID\":\"e1\",\"data\":1}";
    CHECK(s_request(curl, port, "POST", "/", ce, event, strlen(event), &body, &hdrs) == 200);
    CHECK(strcmp(body.data, "user.created / 2 0") == 0);

    /* invalid CloudEvent: 400 with a JSON error body, and the server goes on */
    CHECK(s_request(curl, port, "POST", "/", ce, "{\"eventType\":1}", 15, &body, &hdrs) == 400);
    CHECK(strncmp(body.data, "{\"errors\":[{\"message\":\"", 23) == 0);
    CHECK(strstr(hdrs.data, "Content-Type: application/json") != NULL);

    /* body over the limit (100 bytes) */
    char big[300];
    memset(big, 'x', sizeof big);
    CHECK(s_request(curl, port, "POST", "/", NULL, big, sizeof big, &body, &hdrs) == 413);
    CHECK(strstr(body.data, "limit") != NULL);
    /* a body at the limit is fine */
    CHECK(s_request(curl, port, "POST", "/", NULL, big, 100, &body, &hdrs) == 200);

    /* no REPLY: the 300 ms backstop answers 500 */
    CHECK(s_request(curl, port, "GET", "/slow", NULL, NULL, 0, &body, &hdrs) == 500);
    CHECK(strstr(body.data, "request timed out") != NULL);
    /* a broken REPLY is dropped: the request times out too */
    CHECK(s_request(curl, port, "GET", "/bad", NULL, NULL, 0, &body, &hdrs) == 500);
    /* the first REPLY wins, the duplicate is ignored */
    CHECK(s_request(curl, port, "GET", "/twice", NULL, NULL, 0, &body, &hdrs) == 200);
    CHECK(s_request(curl, port, "GET", "/after", NULL, NULL, 0, &body, &hdrs) == 200);
    CHECK(strcmp(body.data, "http.request /after 1 0") == 0);

    /* keep-alive: the last request reused the connection */
    long connects = -1;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
    CHECK(connects == 0);

    s_test_batches(endpoint, curl);

    /* stop: the loop returns 0 */
    CHECK(write(stop_pipe[1], "x", 1) == 1);
    pthread_join(server_thread, NULL);
    CHECK(st.rc == 0);
    fr.stop = 1;
    pthread_join(router_thread, NULL);

    curl_slist_free_all(ce);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    http_server_destroy(&server);
    router_link_destroy(&link);
    zmq_close(fr.router);
    zmq_ctx_term(fr.ctx);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("ingress http_server: all tests passed\n");
    return 0;
}
