/* egw-router: the configuration API, the route table and the broker between
 * ingress and workers (see docs/architecture.md). main() reads settings
 * (flag, else environment, else default), builds the parts and runs the
 * broker loop until SIGTERM or SIGINT. */
#include "broker.h"
#include "config_api.h"
#include "db.h"
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
            "  --log-level LEVEL        error, warn, info or debug (EGW_LOG_LEVEL, info)\n"
            "  --check                  check the settings and the database, then exit\n"
            "  --help                   this text\n");
}

typedef struct {
    const char *config_port, *config_bind, *data_dir, *db, *frontend, *backend;
    const char *function_timeout, *queue_limit, *body_limit, *log_level;
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
