/* egw-worker: connects to egw-router's backend, takes JOBs and calls the
 * subscribed functions (worker.c). This file reads settings (flag, then
 * environment, then default) and turns SIGTERM/SIGINT into a pipe the loop
 * polls, so shutdown happens in the loop and never inside a handler. */
#include "provider_aws_common.h"
#include "worker.h"

#include "egw/log.h"
#include "egw/opts.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORKER_DEFAULT_ROUTER "tcp://127.0.0.1:4011"
#define WORKER_DEFAULT_CONCURRENCY "256"

static int s_stop_pipe[2] = {-1, -1}; /* written by the signal handler only */

static void s_on_signal(int sig)
{
    int saved = errno;
    char c = (char)sig;
    /* Non-blocking: if the pipe is full a stop is already pending. */
    ssize_t rc = write(s_stop_pipe[1], &c, 1);
    (void)rc;
    errno = saved;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: egw-worker [options]\n"
            "  --router ENDPOINT     router backend (EGW_WORKER_ROUTER, %s)\n"
            "  --concurrency N       calls in flight (EGW_WORKER_CONCURRENCY, %s)\n"
            "  --name NAME           name shown in the router's logs (default host:pid)\n"
            "  --http-event-version V  CloudEvents version of http.request events: 0.1 or 1.0\n"
            "                        (EGW_HTTP_EVENT_VERSION, 0.1)\n"
            "  --log-level LEVEL     error, warn, info or debug (EGW_LOG_LEVEL, info)\n"
            "  --check               validate the settings, print \"configuration OK\", exit\n"
            "  --help                this text\n",
            WORKER_DEFAULT_ROUTER, WORKER_DEFAULT_CONCURRENCY);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"router", required_argument, NULL, 'r'},
        {"concurrency", required_argument, NULL, 'c'},
        {"name", required_argument, NULL, 'n'},
        {"http-event-version", required_argument, NULL, 'v'},
        {"log-level", required_argument, NULL, 'l'},
        {"check", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *router_flag = NULL, *concurrency_flag = NULL, *name_flag = NULL;
    const char *level_flag = NULL, *version_flag = NULL;
    bool check = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'r': router_flag = optarg; break;
        case 'c': concurrency_flag = optarg; break;
        case 'n': name_flag = optarg; break;
        case 'v': version_flag = optarg; break;
        case 'l': level_flag = optarg; break;
        case 'k': check = true; break;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "egw-worker: unexpected argument '%s'\n", argv[optind]);
        s_usage(stderr);
        return 2;
    }

    log_level_t level = LOG_LEVEL_INFO;
    const char *level_name = opts_pick(level_flag, "EGW_LOG_LEVEL", "info");
    if (log_level_parse(level_name, &level) != 0) {
        fprintf(stderr, "egw-worker: unknown log level '%s'\n", level_name);
        return 2;
    }
    log_init("worker", level);

    const char *router = opts_pick(router_flag, "EGW_WORKER_ROUTER", WORKER_DEFAULT_ROUTER);
    long concurrency = 0;
    if (opts_parse_long("concurrency",
                        opts_pick(concurrency_flag, "EGW_WORKER_CONCURRENCY",
                                  WORKER_DEFAULT_CONCURRENCY),
                        1, 100000, &concurrency) != 0)
        return 2;
    if (strncmp(router, "tcp://", 6) != 0 && strncmp(router, "ipc://", 6) != 0 &&
        strncmp(router, "inproc://", 9) != 0) {
        log_error("router endpoint '%s' must start with tcp://, ipc:// or inproc://", router);
        return 2;
    }
    const char *version = opts_pick(version_flag, "EGW_HTTP_EVENT_VERSION", "0.1");
    event_json_version_t http_event_version;
    if (event_json_version_parse(version, &http_event_version) != 0) {
        log_error("http.request event version '%s' must be 0.1 or 1.0", version);
        return 2;
    }
    char name[300];
    if (name_flag) {
        snprintf(name, sizeof(name), "%s", name_flag);
    } else {
        char host[256] = "localhost";
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        snprintf(name, sizeof(name), "%s:%ld", host, (long)getpid());
    }
    if (check) {
        printf("configuration OK\n");
        return 0;
    }

    if (pipe2(s_stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_error_errno("pipe2");
        return 1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Once, before any thread or handle exists, as libcurl requires. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("curl_global_init failed");
        return 1;
    }
    worker_config_t config = {.router = router, .concurrency = (uint32_t)concurrency,
                              .name = name, .http_event_version = http_event_version};
    /* Role credentials (ECS, EC2) outlive calls; the AWS providers are
     * stateless, so the process owns their cache (provider_aws_common.h). */
    aws_creds_cache_t *aws_cache = aws_creds_cache_new();
    if (!aws_cache) {
        log_error("out of memory");
        return 1;
    }
    aws_creds_cache_install(aws_cache);
    worker_t *worker = worker_new(&config);
    if (!worker) {
        aws_creds_cache_destroy(&aws_cache);
        return 1;
    }
    int rc = worker_run(worker, s_stop_pipe[0]);
    worker_destroy(&worker);
    aws_creds_cache_install(NULL);
    aws_creds_cache_destroy(&aws_cache);
    close(s_stop_pipe[0]);
    close(s_stop_pipe[1]);
    curl_global_cleanup();
    return rc == 0 ? 0 : 1;
}
