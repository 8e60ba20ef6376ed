/* egw-router: the configuration API, the route table and the broker between
 * ingress and workers (see docs/architecture.md). main() reads settings
 * (flag, else environment, else default), builds the parts and runs the
 * broker loop until SIGTERM or SIGINT. */
#include "broker.h"
#include "config_api.h"
#include "db.h"
#include "delivery_store.h"
#include "metrics.h"

#include "egw/log.h"
#include "egw/opts.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Set from the signal handler, read by the broker loop: the one piece of
 * state a handler may touch safely. */
static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: egw-router [options]\n"
            "  --config-port N          Configuration API port (EGW_CONFIG_PORT, 4001)\n"
            "  --config-bind ADDR       Configuration API address (EGW_CONFIG_BIND, 0.0.0.0)\n"
            "  --data-dir DIR           directory of egw.db, created if missing\n"
            "                           (EGW_DATA_DIR, ./data)\n"
            "  --db PATH                database file, overrides --data-dir (EGW_DB)\n"
            "  --frontend ENDPOINT      ROUTER for ingress (EGW_FRONTEND, tcp://127.0.0.1:4010)\n"
            "  --backend ENDPOINT       ROUTER for workers (EGW_BACKEND, tcp://127.0.0.1:4011)\n"
            "  --function-timeout-ms N  cap on each function call\n"
            "                           (EGW_FUNCTION_TIMEOUT_MS, 10000)\n"
            "  --queue-limit N          jobs waiting for a worker (EGW_QUEUE_LIMIT, 10000)\n"
            "  --body-limit N           Configuration API body limit in bytes\n"
            "                           (EGW_BODY_LIMIT, 1048576)\n"
            "  --durability MODE        fsync (commit survives power loss) or os (survives a\n"
            "                           process crash) (EGW_DURABILITY, fsync)\n"
            "  --backlog-events N       pending deliveries before events get 503\n"
            "                           (EGW_BACKLOG_EVENTS, 100000)\n"
            "  --backlog-bytes N        pending payload bytes before events get 503\n"
            "                           (EGW_BACKLOG_BYTES, 268435456)\n"
            "  --retry-max-attempts N   default retry policy: calls per delivery\n"
            "                           (EGW_RETRY_MAX_ATTEMPTS, 185)\n"
            "  --retry-max-age-s N      default retry policy: seconds after acceptance\n"
            "                           (EGW_RETRY_MAX_AGE_S, 86400)\n"
            "  --retry-base-ms N        first backoff delay (EGW_RETRY_BASE_MS, 1000)\n"
            "  --retry-cap-ms N         longest backoff delay (EGW_RETRY_CAP_MS, 300000)\n"
            "  --function-concurrency N async calls in flight per function\n"
            "                           (EGW_FUNCTION_CONCURRENCY, 64)\n"
            "  --log-level LEVEL        error, warn, info or debug (EGW_LOG_LEVEL, info)\n"
            "  --check                  check the settings and the database, then exit\n"
            "  --help                   this text\n");
}

typedef struct {
    const char *config_port, *config_bind, *data_dir, *db, *frontend, *backend;
    const char *function_timeout, *queue_limit, *body_limit, *log_level;
    const char *durability, *backlog_events, *backlog_bytes, *retry_max_attempts,
        *retry_max_age_s, *retry_base_ms, *retry_cap_ms, *function_concurrency;
    bool check;
} s_flags_t;

enum {
    OPT_CONFIG_PORT = 256,
    OPT_CONFIG_BIND,
    OPT_DATA_DIR,
    OPT_DB,
    OPT_FRONTEND,
    OPT_BACKEND,
    OPT_FUNCTION_TIMEOUT,
    OPT_QUEUE_LIMIT,
    OPT_BODY_LIMIT,
    OPT_LOG_LEVEL,
    OPT_DURABILITY,
    OPT_BACKLOG_EVENTS,
    OPT_BACKLOG_BYTES,
    OPT_RETRY_MAX_ATTEMPTS,
    OPT_RETRY_MAX_AGE,
    OPT_RETRY_BASE,
    OPT_RETRY_CAP,
    OPT_FUNCTION_CONCURRENCY,
    OPT_CHECK,
    OPT_HELP,
};

/* Returns 0, 1 for --help, -1 for a bad command line. */
static int s_flags_parse(int argc, char **argv, s_flags_t *f)
{
    static const struct option longopts[] = {
        {"config-port", required_argument, NULL, OPT_CONFIG_PORT},
        {"config-bind", required_argument, NULL, OPT_CONFIG_BIND},
        {"data-dir", required_argument, NULL, OPT_DATA_DIR},
        {"db", required_argument, NULL, OPT_DB},
        {"frontend", required_argument, NULL, OPT_FRONTEND},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"function-timeout-ms", required_argument, NULL, OPT_FUNCTION_TIMEOUT},
        {"queue-limit", required_argument, NULL, OPT_QUEUE_LIMIT},
        {"body-limit", required_argument, NULL, OPT_BODY_LIMIT},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"durability", required_argument, NULL, OPT_DURABILITY},
        {"backlog-events", required_argument, NULL, OPT_BACKLOG_EVENTS},
        {"backlog-bytes", required_argument, NULL, OPT_BACKLOG_BYTES},
        {"retry-max-attempts", required_argument, NULL, OPT_RETRY_MAX_ATTEMPTS},
        {"retry-max-age-s", required_argument, NULL, OPT_RETRY_MAX_AGE},
        {"retry-base-ms", required_argument, NULL, OPT_RETRY_BASE},
        {"retry-cap-ms", required_argument, NULL, OPT_RETRY_CAP},
        {"function-concurrency", required_argument, NULL, OPT_FUNCTION_CONCURRENCY},
        {"check", no_argument, NULL, OPT_CHECK},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG_PORT: f->config_port = optarg; break;
        case OPT_CONFIG_BIND: f->config_bind = optarg; break;
        case OPT_DATA_DIR: f->data_dir = optarg; break;
        case OPT_DB: f->db = optarg; break;
        case OPT_FRONTEND: f->frontend = optarg; break;
        case OPT_BACKEND: f->backend = optarg; break;
        case OPT_FUNCTION_TIMEOUT: f->function_timeout = optarg; break;
        case OPT_QUEUE_LIMIT: f->queue_limit = optarg; break;
        case OPT_BODY_LIMIT: f->body_limit = optarg; break;
        case OPT_LOG_LEVEL: f->log_level = optarg; break;
        case OPT_DURABILITY: f->durability = optarg; break;
        case OPT_BACKLOG_EVENTS: f->backlog_events = optarg; break;
        case OPT_BACKLOG_BYTES: f->backlog_bytes = optarg; break;
        case OPT_RETRY_MAX_ATTEMPTS: f->retry_max_attempts = optarg; break;
        case OPT_RETRY_MAX_AGE: f->retry_max_age_s = optarg; break;
        case OPT_RETRY_BASE: f->retry_base_ms = optarg; break;
        case OPT_RETRY_CAP: f->retry_cap_ms = optarg; break;
        case OPT_FUNCTION_CONCURRENCY: f->function_concurrency = optarg; break;
        case OPT_CHECK: f->check = true; break;
        case OPT_HELP: return 1;
        default: return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "egw-router: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Creates dir and any missing parents (like mkdir -p), so a fresh
 * deployment can point --data-dir at a path that does not exist yet. */
static int s_ensure_dir(const char *dir)
{
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        log_error("data directory path too long");
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0750) < 0 && errno != EEXIST) {
            log_error_errno("cannot create %s", path);
            return -1;
        }
        *p = '/';
    }
    if (mkdir(path, 0750) < 0 && errno != EEXIST) {
        log_error_errno("cannot create data directory %s", path);
        return -1;
    }
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        log_error("%s is not a directory", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    s_flags_t f = {0};
    int rc = 1;
    metrics_t *metrics = NULL;
    config_api_t *api = NULL;
    broker_t *broker = NULL;
    char *db_path = NULL;

    int parsed = s_flags_parse(argc, argv, &f);
    if (parsed != 0) {
        s_usage(parsed > 0 ? stdout : stderr);
        return parsed > 0 ? 0 : 2;
    }
    log_level_t level;
    const char *level_name = opts_pick(f.log_level, "EGW_LOG_LEVEL", "info");
    if (log_level_parse(level_name, &level) < 0) {
        fprintf(stderr, "egw-router: log level '%s' is not error, warn, info or debug\n",
                level_name);
        return 2;
    }
    log_init("router", level);

    long port, timeout_ms, queue_limit, body_limit;
    if (opts_parse_long("--config-port", opts_pick(f.config_port, "EGW_CONFIG_PORT", "4001"), 1,
                        65535, &port) < 0 ||
        opts_parse_long("--function-timeout-ms",
                        opts_pick(f.function_timeout, "EGW_FUNCTION_TIMEOUT_MS", "10000"), 1,
                        3600000, &timeout_ms) < 0 ||
        opts_parse_long("--queue-limit", opts_pick(f.queue_limit, "EGW_QUEUE_LIMIT", "10000"), 0,
                        100000000, &queue_limit) < 0 ||
        opts_parse_long("--body-limit", opts_pick(f.body_limit, "EGW_BODY_LIMIT", "1048576"), 1,
                        1L << 30, &body_limit) < 0)
        return 2;
    long backlog_events, backlog_bytes, max_attempts, max_age, base_ms, cap_ms, fn_limit;
    if (opts_parse_long("--backlog-events",
                        opts_pick(f.backlog_events, "EGW_BACKLOG_EVENTS", "100000"), 1,
                        100000000, &backlog_events) < 0 ||
        opts_parse_long("--backlog-bytes",
                        opts_pick(f.backlog_bytes, "EGW_BACKLOG_BYTES", "268435456"), 1,
                        1L << 40, &backlog_bytes) < 0 ||
        opts_parse_long("--retry-max-attempts",
                        opts_pick(f.retry_max_attempts, "EGW_RETRY_MAX_ATTEMPTS", "185"), 1,
                        1000000, &max_attempts) < 0 ||
        opts_parse_long("--retry-max-age-s",
                        opts_pick(f.retry_max_age_s, "EGW_RETRY_MAX_AGE_S", "86400"), 1,
                        100L * 365 * 86400, &max_age) < 0 ||
        opts_parse_long("--retry-base-ms", opts_pick(f.retry_base_ms, "EGW_RETRY_BASE_MS", "1000"),
                        1, 86400000, &base_ms) < 0 ||
        opts_parse_long("--retry-cap-ms", opts_pick(f.retry_cap_ms, "EGW_RETRY_CAP_MS", "300000"),
                        1, 7L * 86400000, &cap_ms) < 0 ||
        opts_parse_long("--function-concurrency",
                        opts_pick(f.function_concurrency, "EGW_FUNCTION_CONCURRENCY", "64"), 1,
                        1000000, &fn_limit) < 0)
        return 2;
    delivery_durability_t durability;
    const char *durability_name = opts_pick(f.durability, "EGW_DURABILITY", "fsync");
    if (delivery_durability_parse(durability_name, &durability) < 0) {
        log_error("--durability: '%s' is not fsync or os", durability_name);
        return 2;
    }
    if (cap_ms < base_ms) {
        log_error("--retry-cap-ms (%ld) is below --retry-base-ms (%ld)", cap_ms, base_ms);
        return 2;
    }
    const char *bind = opts_pick(f.config_bind, "EGW_CONFIG_BIND", "0.0.0.0");
    const char *frontend = opts_pick(f.frontend, "EGW_FRONTEND", "tcp://127.0.0.1:4010");
    const char *backend = opts_pick(f.backend, "EGW_BACKEND", "tcp://127.0.0.1:4011");
    const char *db_flag = opts_pick(f.db, "EGW_DB", NULL);
    if (db_flag) {
        db_path = strdup(db_flag);
    } else {
        const char *dir = opts_pick(f.data_dir, "EGW_DATA_DIR", "./data");
        if (s_ensure_dir(dir) < 0)
            return 1;
        db_path = zsys_sprintf("%s/egw.db", dir);
    }
    if (!db_path)
        fatal("out of memory");

    if (f.check) {
        /* Opening applies pending migrations, so a deploy check also proves
         * the schema can be brought up to date. */
        sqlite3 *db = db_open(db_path);
        if (!db)
            goto done;
        sqlite3_close(db);
        printf("configuration OK\n");
        rc = 0;
        goto done;
    }

    /* czmq would install its own SIGINT/SIGTERM handler on first use;
     * ours sets the flag the broker loop reads instead. */
    zsys_handler_set(NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Migrations run in whichever of the two db_open calls comes first;
     * db.c serialises them with BEGIN IMMEDIATE. */
    metrics = metrics_new();
    if (!metrics)
        fatal("out of memory");
    config_api_options_t aopts = {
        .bind_address = bind,
        .port = (int)port,
        .db_path = db_path,
        .body_limit = (size_t)body_limit,
        .metrics = metrics,
        .durability_full = durability == DELIVERY_DURABILITY_FSYNC,
    };
    api = config_api_new(&aopts);
    if (!api)
        goto done;
    log_info("Configuration API on %s:%ld, database %s", bind, port, db_path);
    broker_options_t bopts = {
        .frontend = frontend,
        .backend = backend,
        .db_path = db_path,
        .function_timeout_ms = (uint32_t)timeout_ms,
        .queue_limit = (size_t)queue_limit,
        .metrics = metrics,
        .notify_fd = config_api_notify_fd(api),
        .delivery =
            {
                .durability = (int)durability,
                .backlog_events = (size_t)backlog_events,
                .backlog_bytes = (size_t)backlog_bytes,
                .max_attempts = (uint32_t)max_attempts,
                .max_age_s = (uint32_t)max_age,
                .base_ms = base_ms,
                .cap_ms = cap_ms,
                .function_concurrency = (uint32_t)fn_limit,
            },
    };
    broker = broker_new(&bopts);
    if (!broker)
        goto done;
    if (broker_run(broker, &s_stop) == 0)
        rc = 0;
done:
    broker_destroy(&broker);
    config_api_destroy(&api);
    metrics_destroy(&metrics);
    free(db_path);
    if (!f.check)
        log_info("stopped");
    return rc;
}
