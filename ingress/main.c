/* egw-ingress: the Events API process (default port 4000). Parses settings
 * (flag, else environment, else default), connects the DEALER to the router,
 * and runs the HTTP loop until SIGTERM or SIGINT. Several copies may run at
 * once: they share the port through SO_REUSEPORT. */
#include "egw/log.h"
#include "egw/opts.h"
#include "http_server.h"
#include "router_link.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

typedef struct {
    const char *bind_address;
    long port;
    const char *router;
    long body_limit;
    long request_timeout_ms;
    log_level_t log_level;
} settings_t;

static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: egw-ingress [options]\n"
            "  --events-port N          Events API port (EGW_EVENTS_PORT, default 4000)\n"
            "  --events-bind ADDR       address to listen on (EGW_EVENTS_BIND, default 0.0.0.0)\n"
            "  --router ENDPOINT        router frontend (EGW_ROUTER, default "
            "tcp://127.0.0.1:4010)\n"
            "  --body-limit BYTES       largest request body (EGW_BODY_LIMIT, default 1048576)\n"
            "  --request-timeout-ms MS  answer 500 when no reply comes in time\n"
            "                           (EGW_REQUEST_TIMEOUT_MS, default 15000)\n"
            "  --log-level LEVEL        error, warn, info, debug (EGW_LOG_LEVEL, default info)\n"
            "  --check                  validate the settings, print \"configuration OK\", exit\n"
            "  --help                   this text\n");
}

/* Returns 0 and fills *s, or -1 after printing what is wrong. */
static int s_settings(int argc, char **argv, settings_t *s, int *check)
{
    enum { OPT_PORT = 1, OPT_BIND, OPT_ROUTER, OPT_BODY, OPT_TIMEOUT, OPT_LOG, OPT_CHECK, OPT_HELP };
    static const struct option longopts[] = {
        {"events-port", required_argument, NULL, OPT_PORT},
        {"events-bind", required_argument, NULL, OPT_BIND},
        {"router", required_argument, NULL, OPT_ROUTER},
        {"body-limit", required_argument, NULL, OPT_BODY},
        {"request-timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"check", no_argument, NULL, OPT_CHECK},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *port = NULL, *bind = NULL, *router = NULL, *body = NULL, *timeout = NULL,
               *level = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_PORT: port = optarg; break;
        case OPT_BIND: bind = optarg; break;
        case OPT_ROUTER: router = optarg; break;
        case OPT_BODY: body = optarg; break;
        case OPT_TIMEOUT: timeout = optarg; break;
        case OPT_LOG: level = optarg; break;
        case OPT_CHECK: *check = 1; break;
        case OPT_HELP: s_usage(stdout); exit(0);
        default: s_usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "egw-ingress: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    level = opts_pick(level, "EGW_LOG_LEVEL", "info");
    if (log_level_parse(level, &s->log_level) < 0) {
        fprintf(stderr, "egw-ingress: log level '%s' is not error, warn, info or debug\n", level);
        return -1;
    }
    log_init("ingress", s->log_level);
    s->bind_address = opts_pick(bind, "EGW_EVENTS_BIND", "0.0.0.0");
    s->router = opts_pick(router, "EGW_ROUTER", "tcp://127.0.0.1:4010");
    if (opts_parse_long("--events-port", opts_pick(port, "EGW_EVENTS_PORT", "4000"), 0, 65535,
                        &s->port) < 0 ||
        opts_parse_long("--body-limit", opts_pick(body, "EGW_BODY_LIMIT", "1048576"), 0,
                        1L << 30, &s->body_limit) < 0 ||
        opts_parse_long("--request-timeout-ms",
                        opts_pick(timeout, "EGW_REQUEST_TIMEOUT_MS", "15000"), 1, 3600000,
                        &s->request_timeout_ms) < 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    settings_t s;
    int check = 0;
    if (s_settings(argc, argv, &s, &check) < 0)
        return 2;

    /* Signals arrive as a readable fd in the loop, so shutdown runs there,
     * not in a handler. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    int stop_fd = -1;
    router_link_t *link = router_link_new(s.router);
    http_server_t *server = NULL;
    if (!link)
        goto fail;
    http_server_options_t opts = {
        .bind_address = s.bind_address,
        .port = (int)s.port,
        .body_limit = (size_t)s.body_limit,
        .request_timeout_ms = (int)s.request_timeout_ms,
    };
    if (check) {
        /* The router endpoint parsed (connect needs no router); the port is
         * not bound, so checking beside a running instance is harmless. */
        struct in6_addr a6;
        struct in_addr a4;
        if (inet_pton(AF_INET, s.bind_address, &a4) != 1 &&
            inet_pton(AF_INET6, s.bind_address, &a6) != 1) {
            log_error("--events-bind: '%s' is not an IPv4 or IPv6 address", s.bind_address);
            goto fail;
        }
        printf("configuration OK\n");
        rc = 0;
        goto fail;
    }
    server = http_server_new(&opts, link);
    if (!server)
        goto fail;
    stop_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (stop_fd < 0) {
        log_error_errno("signalfd");
        goto fail;
    }
    log_info("router %s, body limit %ld bytes, request timeout %ld ms", s.router, s.body_limit,
             s.request_timeout_ms);
    if (http_server_run(server, stop_fd) == 0)
        rc = 0;
fail:
    http_server_destroy(&server);
    router_link_destroy(&link);
    if (stop_fd >= 0)
        close(stop_fd);
    return rc;
}
