/* Self-test of common/uuid.c: ids are well-formed lower-case version 4
 * UUIDs, distinct across many refills of the per-thread buffer, and a
 * forked child never hands out the ids its parent will (the buffer it
 * inherited is discarded). */
#include "egw/uuid.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define N 2000

static void s_check_form(const char *id)
{
    REQUIRE(strlen(id) == 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            REQUIRE(id[i] == '-');
        else
            REQUIRE((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
    }
    REQUIRE(id[14] == '4');
    REQUIRE(strchr("89ab", id[19]) != NULL);
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

int main(void)
{
    /* Parent ids: 2000 ids span several buffer refills. */
    static char ids[2 * N][UUID_STR_LEN];
    for (int i = 0; i < N; i++) {
        memset(ids[i], 'x', UUID_STR_LEN);
        uuid_v4(ids[i]);
        s_check_form(ids[i]);
    }

    /* A child forked mid-buffer writes its next N ids to a pipe; the parent
     * then makes its own next N: all 3N must differ. */
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        for (int i = 0; i < N; i++) {
            char id[UUID_STR_LEN];
            uuid_v4(id);
            if (write(fds[1], id, UUID_STR_LEN) != UUID_STR_LEN)
                _exit(2);
        }
        _exit(0);
    }
    close(fds[1]);
    static char child[N][UUID_STR_LEN];
    size_t got = 0;
    while (got < sizeof child) {
        ssize_t n = read(fds[0], (char *)child + got, sizeof child - got);
        REQUIRE(n > 0);
        got += (size_t)n;
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < N; i++) {
        uuid_v4(ids[N + i]);
        s_check_form(child[i]);
    }

    static char all[3 * N][UUID_STR_LEN];
    memcpy(all, ids, sizeof ids);
    memcpy(all[2 * N], child, sizeof child);
    qsort(all, 3 * N, UUID_STR_LEN, s_cmp);
    for (int i = 1; i < 3 * N; i++)
        REQUIRE(strcmp(all[i - 1], all[i]) != 0);
    printf("common_uuid_test: OK\n");
    return 0;
}
